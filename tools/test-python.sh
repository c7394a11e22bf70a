#!/usr/bin/env bash
# The Python module's tests: builds python/ with maturin into a virtual environment under
# target/ (the user's Python is left alone), installs pytest and Ray Data there, and runs
# python/tests against the command line that `cargo test --release` built (their outputs are
# compared byte for byte). Reruns reuse the environment and cargo's build.
set -euo pipefail
cd "$(dirname "$0")/.."
env=target/python-env
if [ ! -x "$env/bin/python" ]; then
    python3 -m venv "$env"
fi
"$env/bin/pip" install -q --disable-pip-version-check ./python pytest "ray[data]>=2.9"
export WGVAE_BIN="$PWD/target/release/wgvae" RAY_USAGE_STATS_ENABLED=0
"$env/bin/python" -m pytest -q -p no:cacheprovider python/tests
