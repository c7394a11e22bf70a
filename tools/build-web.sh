#!/usr/bin/env bash
# The browser build: web/ compiled for wasm32-unknown-unknown in release, then wasm-bindgen
# writes the ES module web/pkg/wgvae_web.js and its web/pkg/wgvae_web_bg.wasm. Build wgvae
# afterwards so that `wgvae serve` embeds them (build.rs). Installs what it needs from the
# registries: the wasm32 target with rustup, and wasm-bindgen's CLI with cargo at exactly the
# version web/Cargo.toml pins (the glue it writes must match the crate).
set -euo pipefail
cd "$(dirname "$0")/.."
version=$(sed -n 's/^wasm-bindgen = "=\(.*\)"$/\1/p' web/Cargo.toml)
rustup target add wasm32-unknown-unknown
if [ "$(wasm-bindgen --version 2>/dev/null)" != "wasm-bindgen $version" ]; then
    # --locked fails on this version's lock file (a yanked dependency), so it resolves afresh;
    # no default features: they are TLS for downloads that building a page never makes;
    # --debug: it builds in 1.3 min instead of 4.5 here and writes the same files in 1.5 s
    cargo install wasm-bindgen-cli --version "$version" --no-default-features --debug
fi
cargo build --release -p wgvae-web --target wasm32-unknown-unknown
target=$(cargo metadata --format-version 1 --no-deps | sed -n 's/.*"target_directory":"\([^"]*\)".*/\1/p')
wasm-bindgen --target web --out-dir web/pkg "$target/wasm32-unknown-unknown/release/wgvae_web.wasm"
ls -l web/pkg/wgvae_web.js web/pkg/wgvae_web_bg.wasm
