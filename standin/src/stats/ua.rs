//! A small user-agent classification: browser and operating system with a
//! version, and desktop/mobile. Good enough for tests, not a UA database.

/// What a user agent says about the client.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Agent {
    /// Chrome, Firefox, Safari, Edge, Opera or Other; "" without a user agent.
    pub browser: &'static str,
    /// The major version, e.g. "120"; "" when unknown.
    pub browser_version: String,
    /// Windows, Mac, Linux, Android, iOS or Other; "" without a user agent.
    pub os: &'static str,
    /// E.g. "10" (Windows), "14" (Android), "17.1" (iOS), "10.15" (Mac); "" when unknown.
    pub os_version: String,
    pub platform: Platform,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum Platform {
    Desktop,
    Mobile,
    #[default]
    Unknown,
}

impl Platform {
    pub fn name(self) -> &'static str {
        match self {
            Platform::Desktop => "desktop",
            Platform::Mobile => "mobile",
            Platform::Unknown => "unknown",
        }
    }
}

/// The text after `marker` up to the first character that cannot be part of a version.
fn version_after<'a>(ua: &'a str, marker: &str) -> Option<&'a str> {
    let start = ua.find(marker)? + marker.len();
    let rest = &ua[start..];
    let end = rest
        .find(|c: char| !(c.is_ascii_digit() || c == '.' || c == '_'))
        .unwrap_or(rest.len());
    Some(&rest[..end])
}

/// "120.0.6099.71" -> "120"; "" stays "".
fn major(v: &str) -> String {
    v.split(['.', '_']).next().unwrap_or("").to_string()
}

/// "10_15_7" -> "10.15"; "17.1.2" -> "17.1".
fn major_minor(v: &str) -> String {
    let mut parts = v.split(['.', '_']).filter(|p| !p.is_empty());
    match (parts.next(), parts.next()) {
        (Some(a), Some(b)) => format!("{a}.{b}"),
        (Some(a), None) => a.to_string(),
        _ => String::new(),
    }
}

fn browser(ua: &str) -> (&'static str, String) {
    // Order matters: Edge and Opera also say Chrome and Safari, Chrome also says Safari.
    const RULES: &[(&str, &[&str])] = &[
        ("Edge", &["Edg/", "Edge/", "EdgA/", "EdgiOS/"]),
        ("Opera", &["OPR/", "OPiOS/", "Opera/"]),
        ("Firefox", &["Firefox/", "FxiOS/"]),
        ("Chrome", &["Chrome/", "CriOS/", "Chromium/"]),
    ];
    for (name, markers) in RULES {
        for m in *markers {
            if let Some(v) = version_after(ua, m) {
                // Old Opera ("Opera/9.80 ... Version/12.16") puts its version after Version/.
                let v = match (*m, version_after(ua, "Version/")) {
                    ("Opera/", Some(real)) => real,
                    _ => v,
                };
                return (name, major(v));
            }
        }
    }
    if ua.contains("Safari/") {
        return ("Safari", major(version_after(ua, "Version/").unwrap_or("")));
    }
    ("Other", String::new())
}

fn windows_version(nt: &str) -> String {
    match nt {
        "10.0" => "10".into(),
        "6.3" => "8.1".into(),
        "6.2" => "8".into(),
        "6.1" => "7".into(),
        "6.0" => "Vista".into(),
        "5.1" | "5.2" => "XP".into(),
        other => other.into(),
    }
}

fn os(ua: &str) -> (&'static str, String) {
    if let Some(v) = version_after(ua, "Windows NT ") {
        return ("Windows", windows_version(v));
    }
    if ua.contains("Windows") {
        return ("Windows", String::new());
    }
    if let Some(v) = version_after(ua, "Android ") {
        return ("Android", major(v));
    }
    if ua.contains("Android") {
        return ("Android", String::new());
    }
    if ua.contains("iPhone") || ua.contains("iPad") || ua.contains("iPod") {
        let v = version_after(ua, "iPhone OS ")
            .or_else(|| version_after(ua, "CPU OS "))
            .unwrap_or("");
        return ("iOS", major_minor(v));
    }
    if ua.contains("Macintosh") || ua.contains("Mac OS X") {
        return (
            "Mac",
            major_minor(version_after(ua, "Mac OS X ").unwrap_or("")),
        );
    }
    if ua.contains("Linux") || ua.contains("X11") {
        return ("Linux", String::new());
    }
    ("Other", String::new())
}

/// The OS named by a Sec-CH-UA-Platform header (quotes optional).
fn os_from_hint(platform: &str, version: &str) -> Option<(&'static str, String)> {
    let p = platform.trim().trim_matches('"');
    let v = version.trim().trim_matches('"');
    Some(match p {
        "Windows" => ("Windows", String::new()),
        "macOS" => ("Mac", major_minor(v)),
        "Linux" | "Chrome OS" | "Chromium OS" => ("Linux", String::new()),
        "Android" => ("Android", major(v)),
        "iOS" => ("iOS", major_minor(v)),
        _ => return None,
    })
}

/// Classifies a user agent with the client hints that come with it.
pub fn classify(ua: &str, ch_mobile: &str, ch_platform: &str, ch_platform_version: &str) -> Agent {
    let ua = ua.trim();
    let (browser, browser_version) = if ua.is_empty() {
        ("", String::new())
    } else {
        browser(ua)
    };
    let (mut os, mut os_version) = if ua.is_empty() {
        ("", String::new())
    } else {
        os(ua)
    };
    if matches!(os, "" | "Other") {
        if let Some((o, v)) = os_from_hint(ch_platform, ch_platform_version) {
            os = o;
            os_version = v;
        }
    }
    let mobile_ua = ["Mobi", "iPhone", "iPad", "iPod"]
        .iter()
        .any(|m| ua.contains(m))
        || os == "Android"
        || os == "iOS";
    let platform = match ch_mobile.trim() {
        "?1" => Platform::Mobile,
        _ if mobile_ua => Platform::Mobile,
        "?0" => Platform::Desktop,
        _ if matches!(os, "Windows" | "Mac" | "Linux") => Platform::Desktop,
        _ => Platform::Unknown,
    };
    Agent {
        browser,
        browser_version,
        os,
        os_version,
        platform,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ua(s: &str) -> (&'static str, String, &'static str, String, &'static str) {
        let a = classify(s, "", "", "");
        (
            a.browser,
            a.browser_version,
            a.os,
            a.os_version,
            a.platform.name(),
        )
    }

    fn t(
        b: &'static str,
        bv: &str,
        o: &'static str,
        ov: &str,
        p: &'static str,
    ) -> (&'static str, String, &'static str, String, &'static str) {
        (b, bv.into(), o, ov.into(), p)
    }

    #[test]
    fn browsers_and_systems() {
        assert_eq!(
            ua("Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.6099.71 Safari/537.36"),
            t("Chrome", "120", "Windows", "10", "desktop")
        );
        assert_eq!(
            ua("Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.0.0 Safari/537.36 Edg/120.0.2210.61"),
            t("Edge", "120", "Windows", "10", "desktop")
        );
        assert_eq!(
            ua("Mozilla/5.0 (X11; Linux x86_64; rv:121.0) Gecko/20100101 Firefox/121.0"),
            t("Firefox", "121", "Linux", "", "desktop")
        );
        assert_eq!(
            ua("Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.1 Safari/605.1.15"),
            t("Safari", "17", "Mac", "10.15", "desktop")
        );
        assert_eq!(
            ua("Mozilla/5.0 (iPhone; CPU iPhone OS 17_1_2 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.1.2 Mobile/15E148 Safari/604.1"),
            t("Safari", "17", "iOS", "17.1", "mobile")
        );
        assert_eq!(
            ua("Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.6099.43 Mobile Safari/537.36"),
            t("Chrome", "120", "Android", "14", "mobile")
        );
        assert_eq!(
            ua("Mozilla/5.0 (Windows NT 6.1; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/119.0.0.0 Safari/537.36 OPR/105.0.0.0"),
            t("Opera", "105", "Windows", "7", "desktop")
        );
        assert_eq!(
            ua("Opera/9.80 (X11; Linux i686; U; en) Presto/2.12.388 Version/12.16"),
            t("Opera", "12", "Linux", "", "desktop")
        );
        assert_eq!(ua("curl/8.5.0"), t("Other", "", "Other", "", "unknown"));
        assert_eq!(ua(""), t("", "", "", "", "unknown"));
    }

    #[test]
    fn client_hints() {
        let a = classify("UA1", "?1", "\"Android\"", "\"14.0.0\"");
        assert_eq!(
            (a.os, a.os_version.as_str(), a.platform),
            ("Android", "14", Platform::Mobile)
        );
        let a = classify("UA1", "?0", "", "");
        assert_eq!(
            (a.browser, a.os, a.platform),
            ("Other", "Other", Platform::Desktop)
        );
        // A hint never overrides what the user agent says.
        let a = classify(
            "Mozilla/5.0 (Windows NT 10.0) Firefox/120.0",
            "",
            "macOS",
            "14",
        );
        assert_eq!(a.os, "Windows");
    }
}
