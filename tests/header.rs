//! The committed C header must be exactly what cbindgen generates from the current source.
//! `make header` (TENANTML_BLESS=1) rewrites it.

use std::path::Path;

#[test]
fn committed_header_matches_cbindgen_output() {
    let crate_dir = env!("CARGO_MANIFEST_DIR");
    let config = cbindgen::Config::from_file(Path::new(crate_dir).join("cbindgen.toml"))
        .expect("cbindgen.toml parses");
    let mut generated = Vec::new();
    cbindgen::Builder::new()
        .with_crate(crate_dir)
        .with_config(config)
        .generate()
        .expect("cbindgen generates the header")
        .write(&mut generated);
    let path = Path::new(crate_dir).join("include/tenantml.h");
    if std::env::var_os("TENANTML_BLESS").is_some() {
        std::fs::write(&path, &generated).expect("write include/tenantml.h");
        return;
    }
    let committed = std::fs::read(&path).expect("include/tenantml.h exists");
    assert!(
        committed == generated,
        "include/tenantml.h is stale: run `make header` and commit the result"
    );
}

#[test]
fn header_is_plain_c_for_php_ffi() {
    let header =
        std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("include/tenantml.h"))
            .unwrap();
    // PHP's FFI parser reads declarations only: no preprocessor lines outside comments.
    let mut in_comment = false;
    for line in header.lines() {
        let t = line.trim_start();
        if t.starts_with("/*") {
            in_comment = true;
        }
        if !in_comment {
            assert!(!t.starts_with('#'), "preprocessor line in header: {line}");
        }
        if t.contains("*/") {
            in_comment = false;
        }
    }
    for symbol in [
        "tml_abi_version",
        "tml_last_error",
        "tml_string_free",
        "tml_breaker_allow",
        "TML_ABI_VERSION = 2",
    ] {
        assert!(header.contains(symbol), "header lacks {symbol}");
    }
}
