//! URL and query-string helpers: percent-decoding, query pairs, the parts of a URL.

/// The path of an absolute URL: "https://e.com/a/b?x#y" -> "/a/b"; "/" when it has none.
pub fn url_path(url: &str) -> &str {
    let rest = match url.find("://") {
        Some(i) => &url[i + 3..],
        None => url,
    };
    match rest.find(['/', '?', '#']) {
        Some(i) if rest.as_bytes()[i] == b'/' => {
            let p = &rest[i..];
            match p.find(['?', '#']) {
                Some(j) => &p[..j],
                None => p,
            }
        }
        _ => "/",
    }
}

/// The query of a URL (between '?' and '#'), "" when it has none.
pub fn url_query(url: &str) -> &str {
    let before_fragment = url.split('#').next().unwrap_or("");
    match before_fragment.split_once('?') {
        Some((_, q)) => q,
        None => "",
    }
}

/// The host of "scheme://[user@]host[:port]/...", lowercased; None if it is not such a URL.
pub fn url_host(url: &str) -> Option<String> {
    let (scheme, rest) = url.split_once("://")?;
    if scheme.is_empty()
        || !scheme
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "+-.".contains(c))
    {
        return None;
    }
    let authority = rest.split(['/', '?', '#']).next().unwrap_or("");
    let host_port = authority.rsplit('@').next().unwrap_or("");
    let host = if host_port.starts_with('[') {
        host_port.split(']').next().map(|h| format!("{h}]"))?
    } else {
        host_port.split(':').next().unwrap_or("").to_string()
    };
    (!host.is_empty()).then(|| host.to_ascii_lowercase())
}

/// Decodes %XX and '+' (as a space) in one query component.
pub fn percent_decode(s: &str) -> String {
    fn hex(c: u8) -> Option<u8> {
        (c as char).to_digit(16).map(|v| v as u8)
    }
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        match b[i] {
            b'+' => out.push(b' '),
            b'%' if i + 2 < b.len() => match (hex(b[i + 1]), hex(b[i + 2])) {
                (Some(h), Some(l)) => {
                    out.push(h * 16 + l);
                    i += 2;
                }
                _ => out.push(b'%'),
            },
            c => out.push(c),
        }
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// A query string's decoded pairs, in order ("a" alone gives ("a", "")).
pub fn query_pairs(query: &str) -> Vec<(String, String)> {
    query
        .split('&')
        .filter(|kv| !kv.is_empty())
        .map(|kv| {
            let (k, v) = kv.split_once('=').unwrap_or((kv, ""));
            (percent_decode(k), percent_decode(v))
        })
        .collect()
}

/// The first value of a query parameter, decoded.
pub fn query_param(query: &str, name: &str) -> Option<String> {
    query.split('&').find_map(|kv| {
        let (k, v) = kv.split_once('=').unwrap_or((kv, ""));
        (percent_decode(k) == name).then(|| percent_decode(v))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parts_and_decoding() {
        assert_eq!(url_path("https://example.com"), "/");
        assert_eq!(url_path("https://example.com?x=1"), "/");
        assert_eq!(url_path("https://example.com/a/b?x=1#y"), "/a/b");
        assert_eq!(url_path("http://e.com/p#f"), "/p");
        assert_eq!(url_query("https://e.com/a?x=1&y=%20#z?w"), "x=1&y=%20");
        assert_eq!(url_query("https://e.com/a#z?w"), "");
        assert_eq!(
            url_host("https://User@WWW.Example.com:8080/x"),
            Some("www.example.com".into())
        );
        assert_eq!(url_host("http://[::1]:80/"), Some("[::1]".into()));
        assert_eq!(
            url_host("android-app://com.google/"),
            Some("com.google".into())
        );
        assert_eq!(url_host("newsletter"), None);
        assert_eq!(percent_decode("a%20b+c%2"), "a b c%2");
        assert_eq!(percent_decode("%e2%82%ac%"), "€%");
        assert_eq!(
            query_pairs("a=1&b&&c=x%3Dy"),
            [
                ("a".into(), "1".into()),
                ("b".into(), "".into()),
                ("c".into(), "x=y".into())
            ]
        );
        assert_eq!(
            query_param("id=x&from=2026-01-01", "from").as_deref(),
            Some("2026-01-01")
        );
        assert_eq!(query_param("id", "id").as_deref(), Some(""));
    }
}
