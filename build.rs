//! Embeds the browser build in `wgvae serve` when it has been built: `tools/build-web.sh`
//! writes `web/pkg/` (the wasm-bindgen module and its wasm), and the server answers
//! `/pkg/...` with those files. Without them the server still serves the page, which then
//! offers to restore on the server's GPU and names the script that builds the rest. The
//! folder is watched (it is committed with only its .gitignore), so a new build is picked up.

use std::path::Path;

/// The page's own files, embedded by `src/serve/assets.rs`: hashed into the build's tag.
const PAGE: [&str; 4] = ["web/index.html", "web/app.js", "web/style.css", "web/sw.js"];

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
    // FNV-1a over every embedded file: the ETag that lets a browser keep the 10 MB module
    let mut tag: u64 = 0xcbf2_9ce4_8422_2325;
    let mut hash = |path: &Path| {
        for b in std::fs::read(path).unwrap_or_default() {
            tag = (tag ^ b as u64).wrapping_mul(0x100_0000_01b3);
        }
    };
    for file in PAGE {
        println!("cargo::rerun-if-changed={file}");
        hash(&Path::new(&root).join(file));
    }
    for (name, file) in FILES {
        let path = pkg.join(file);
        if wanted && path.is_file() {
            println!("cargo::rerun-if-changed={}", path.display());
            hash(&path);
            code.push_str(&format!(
                "pub const {name}: Option<&[u8]> = Some(include_bytes!({:?}));\n",
                path.display().to_string()
            ));
        } else {
            code.push_str(&format!("pub const {name}: Option<&[u8]> = None;\n"));
        }
    }
    code.push_str(&format!("pub const TAG: &str = \"\\\"{tag:016x}\\\"\";\n"));
    std::fs::write(Path::new(&out).join("web_pkg.rs"), code).expect("OUT_DIR is writable");
}
