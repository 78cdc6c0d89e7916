//! include/pirsch.h must be exactly what cbindgen generates from src/ffi/ (with the keys of src/config/keys.rs).
//! Refresh it with `make header` (PIRSCH_BLESS=1 cargo test --test header).

const GENERATED: &str = include_str!(concat!(env!("OUT_DIR"), "/pirsch.h"));

#[test]
fn checked_in_header_is_fresh() {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/include/pirsch.h");
    if std::env::var_os("PIRSCH_BLESS").is_some() {
        std::fs::write(path, GENERATED).unwrap();
    }
    let checked_in = std::fs::read_to_string(path).unwrap_or_default();
    if checked_in != GENERATED {
        let line = checked_in
            .lines()
            .zip(GENERATED.lines())
            .position(|(a, b)| a != b)
            .map(|i| i + 1);
        panic!(
            "include/pirsch.h differs from what cbindgen generates from src/ffi.rs (first differing line: {:?}). Run `make header` and commit the result.",
            line
        );
    }
}

#[test]
fn header_version_matches_cargo() {
    let want = format!("#define PIRSCH_VERSION \"{}\"", env!("CARGO_PKG_VERSION"));
    assert!(GENERATED.contains(&want), "header lacks {want}");
    let major = format!(
        "#define PIRSCH_VERSION_MAJOR {}",
        env!("CARGO_PKG_VERSION_MAJOR")
    );
    assert!(GENERATED.contains(&major));
    let v = unsafe { std::ffi::CStr::from_ptr(pirsch::ffi::pirsch_version()) };
    assert_eq!(v.to_str().unwrap(), env!("CARGO_PKG_VERSION"));
}
