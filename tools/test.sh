#!/usr/bin/env bash
# The test command (README's second line, and CI's): every test of the library and the command
# line in release (unit, integration and doc tests), the library's build for the web without
# the command line's features, then the Python module's tests (python/tests, with pytest).
set -euo pipefail
cd "$(dirname "$0")/.."
cargo test --release
rustup target add wasm32-unknown-unknown
cargo check --lib --target wasm32-unknown-unknown --no-default-features
tools/test-python.sh
