#!/usr/bin/env bash
# The test command (README's second line, and CI's): the browser build first (tools/build-web.sh:
# the library for wasm32 without the command line's features, which it also checks, so that
# `wgvae serve` embeds the page's module), then every test of the library and the command line
# in release (unit, integration and doc tests), the Python module's tests (python/tests, with
# pytest), and the page's in headless Chromium (tests/web, tools/test-web.sh).
set -euo pipefail
cd "$(dirname "$0")/.."
tools/build-web.sh
cargo test --release
tools/test-python.sh
tools/test-web.sh
