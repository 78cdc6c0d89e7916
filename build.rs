//! Generates include/pirsch.h's content with cbindgen into OUT_DIR (a test compares it with
//! the checked-in header), and sets the shared library's soname and exported symbols.

use std::path::PathBuf;

fn main() {
    let crate_dir = PathBuf::from(std::env::var("CARGO_MANIFEST_DIR").unwrap());
    let out_dir = PathBuf::from(std::env::var("OUT_DIR").unwrap());
    println!("cargo:rerun-if-changed=src");
    println!("cargo:rerun-if-changed=cbindgen.toml");
    println!("cargo:rerun-if-changed=pirsch.map");

    let mut config = cbindgen::Config::from_file(crate_dir.join("cbindgen.toml")).expect("cbindgen.toml");
    let version = format!(
        "#define PIRSCH_VERSION \"{}\"\n#define PIRSCH_VERSION_MAJOR {}\n#define PIRSCH_VERSION_MINOR {}\n#define PIRSCH_VERSION_PATCH {}\n",
        env!("CARGO_PKG_VERSION"),
        env!("CARGO_PKG_VERSION_MAJOR"),
        env!("CARGO_PKG_VERSION_MINOR"),
        env!("CARGO_PKG_VERSION_PATCH"),
    );
    config.after_includes = Some(format!("{}\n{}", config.after_includes.unwrap_or_default(), version));
    cbindgen::Builder::new()
        .with_crate(&crate_dir)
        .with_config(config)
        .generate()
        .expect("cbindgen could not generate pirsch.h")
        .write_to_file(out_dir.join("pirsch.h"));

    println!("cargo:rustc-cdylib-link-arg=-Wl,-soname,libpirsch.so.{}", env!("CARGO_PKG_VERSION_MAJOR"));
    println!("cargo:rustc-cdylib-link-arg=-Wl,--version-script={}", crate_dir.join("pirsch.map").display());
}
