//! Embeds the browser build in `wgvae serve` when it has been built: `tools/build-web.sh`
//! writes `web/pkg/` (the wasm-bindgen module and its wasm), and the server answers
//! `/pkg/...` with those files. Without them the server still serves the page, which then
//! offers to restore on the server's GPU and names the script that builds the rest. The
//! folder is watched (it is committed with only its .gitignore), so a new build is picked up.

use std::path::Path;

/// The files of `web/pkg/` the page loads.
const FILES: [(&str, &str); 2] = [
    ("WEB_JS", "wgvae_web.js"),
    ("WEB_WASM", "wgvae_web_bg.wasm"),
];

fn main() {
    println!("cargo::rerun-if-changed=web/pkg");
    println!("cargo::rerun-if-changed=build.rs");
    let out = std::env::var("OUT_DIR").expect("cargo sets OUT_DIR");
    let root = std::env::var("CARGO_MANIFEST_DIR").expect("cargo sets CARGO_MANIFEST_DIR");
    let pkg = Path::new(&root).join("web/pkg");
    let wanted = std::env::var_os("CARGO_FEATURE_SERVE").is_some();
    let mut code = String::from("// written by build.rs: the browser build, where it was built\n");
    for (name, file) in FILES {
        let path = pkg.join(file);
        if wanted && path.is_file() {
            println!("cargo::rerun-if-changed={}", path.display());
            code.push_str(&format!(
                "pub const {name}: Option<&[u8]> = Some(include_bytes!({:?}));\n",
                path.display().to_string()
            ));
        } else {
            code.push_str(&format!("pub const {name}: Option<&[u8]> = None;\n"));
        }
    }
    std::fs::write(Path::new(&out).join("web_pkg.rs"), code).expect("OUT_DIR is writable");
}
