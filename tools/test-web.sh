#!/usr/bin/env bash
# The browser tests (tests/web): the page served by `wgvae serve` on 127.0.0.1, driven in
# headless Chromium with WebGPU by playwright-core (from npm, pinned in tests/web's lock file;
# the browser is Debian's chromium, which .ci/run installs, never a downloaded one). Needs the
# browser build embedded in target/release/wgvae: tools/test.sh builds it first.
set -euo pipefail
cd "$(dirname "$0")/.."
chromium=${CHROMIUM:-/usr/bin/chromium}
if [ ! -x "$chromium" ]; then
    echo "no Chromium at $chromium: install Debian's chromium (apt-get install chromium) or set CHROMIUM" >&2
    exit 1
fi
cd tests/web
npm ci --no-audit --no-fund --loglevel=error
WGVAE_BIN=${WGVAE_BIN:-$(pwd)/../../target/release/wgvae} CHROMIUM=$chromium npm test
