//! Generates include/pirsch.h's content with cbindgen into OUT_DIR (a test compares it with
//! the checked-in header), and sets the shared library's soname and exported symbols.

use std::path::PathBuf;

// The configuration keys (plain data, shared with the library).
#[allow(dead_code)]
mod keys {
    include!("src/config/keys.rs");
}

/// The keys as lines of a C comment: name, default, range, meaning (backquotes dropped),
/// wrapped to 96 columns.
fn key_list() -> String {
    let mut out = String::new();
    for k in keys::KEYS {
        let shown = k.shown_default.replace('`', "");
        let shown = shown.trim_start_matches('(').trim_end_matches(')');
        let mut text = format!("- {} (default {shown}", k.name);
        if let Some((min, max)) = k.range {
            text.push_str(&format!("; {min} to {max}"));
        }
        text.push_str(&format!("): {}.", k.help.replace('`', "")));
        let mut line = String::from(" *");
        for word in text.split(' ') {
            if line.len() + 1 + word.len() > 96 && line.len() > 4 {
                out.push_str(&line);
                out.push('\n');
                line = String::from(" *  ");
            }
            line.push(' ');
            line.push_str(word);
        }
        out.push_str(&line);
        out.push('\n');
    }
    out
}

fn main() {
    let crate_dir = PathBuf::from(std::env::var("CARGO_MANIFEST_DIR").unwrap());
    let out_dir = PathBuf::from(std::env::var("OUT_DIR").unwrap());
    println!("cargo:rerun-if-changed=src");
    println!("cargo:rerun-if-changed=cbindgen.toml");
    println!("cargo:rerun-if-changed=pirsch.map");

    let mut config =
        cbindgen::Config::from_file(crate_dir.join("cbindgen.toml")).expect("cbindgen.toml");
    let version = format!(
        "/** The version of this header, e.g. \"0.1.0\" (pirsch_version() gives the loaded library's). */\n#define PIRSCH_VERSION \"{}\"\n/** The major version. */\n#define PIRSCH_VERSION_MAJOR {}\n/** The minor version. */\n#define PIRSCH_VERSION_MINOR {}\n/** The patch version. */\n#define PIRSCH_VERSION_PATCH {}\n/** The version as one integer, MAJOR * 10000 + MINOR * 100 + PATCH (0.1.0 is 100), for preprocessor tests. */\n#define PIRSCH_VERSION_NUMBER {}\n",
        env!("CARGO_PKG_VERSION"),
        env!("CARGO_PKG_VERSION_MAJOR"),
        env!("CARGO_PKG_VERSION_MINOR"),
        env!("CARGO_PKG_VERSION_PATCH"),
        env!("CARGO_PKG_VERSION_MAJOR").parse::<u32>().unwrap() * 10000
            + env!("CARGO_PKG_VERSION_MINOR").parse::<u32>().unwrap() * 100
            + env!("CARGO_PKG_VERSION_PATCH").parse::<u32>().unwrap(),
    );
    config.after_includes = Some(format!(
        "{}\n{}",
        config.after_includes.unwrap_or_default(),
        version
    ));
    let mut header = Vec::new();
    cbindgen::Builder::new()
        .with_crate(&crate_dir)
        .with_config(config)
        .generate()
        .expect("cbindgen could not generate pirsch.h")
        .write(&mut header);
    // `pirsch_stats` names both a function and its struct (the design's contract). C keeps
    // struct tags apart from ordinary names, so the struct stays a tag without a typedef.
    let header = String::from_utf8(header).unwrap();
    let start = header
        .find("typedef struct pirsch_stats {")
        .expect("pirsch_stats struct in the header");
    let end = header[start..]
        .find("} pirsch_stats;")
        .expect("end of pirsch_stats")
        + start;
    let header = format!(
        "{}struct pirsch_stats {{{}}};{}",
        &header[..start],
        &header[start + "typedef struct pirsch_stats {".len()..end],
        &header[end + "} pirsch_stats;".len()..]
    );
    // The keys, from src/config/keys.rs, where pirsch_config_set's comment asks for them.
    let marker = " * CONFIG-KEYS\n";
    assert!(
        header.contains(marker),
        "the CONFIG-KEYS line in pirsch_config_set's comment"
    );
    let header = header.replace(marker, &key_list());
    std::fs::write(out_dir.join("pirsch.h"), header).unwrap();

    println!(
        "cargo:rustc-cdylib-link-arg=-Wl,-soname,libpirsch.so.{}",
        env!("CARGO_PKG_VERSION_MAJOR")
    );
    println!(
        "cargo:rustc-cdylib-link-arg=-Wl,--version-script={}",
        crate_dir.join("pirsch.map").display()
    );
    // Never unmapped by dlclose(): hosts that load us at run time (PHP FFI frees its library
    // handle at the end of a request) must not pull the code from under a sender thread.
    println!("cargo:rustc-cdylib-link-arg=-Wl,-z,nodelete");
}
