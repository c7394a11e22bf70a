#!/usr/bin/env bash
# Builds the fuzz targets of fuzz/ and runs each for a bounded time on its committed corpus
# (fuzz/corpus/<target>/): the IDX reader, the checkpoint loader, the image loader and the mask
# loader. Usage: tools/fuzz.sh [seconds-per-target] [target...]   (default 60 s, all four)
#
# cargo-fuzz (`cargo install cargo-fuzz`) passes nightly-only flags to rustc; this machine has
# only the stable toolchain, so RUSTC_BOOTSTRAP=1 lets stable accept them, and
# `--sanitizer none` leaves out AddressSanitizer (safe Rust needs it little, and it would
# need the sanitizer runtime and a second build of every dependency). Coverage guidance
# (sancov) and libFuzzer are unchanged.
#
# New inputs land in fuzz/target/new-corpus/<target>/ (ignored); set FUZZ_UPDATE_CORPUS=1 to
# merge the ones that add coverage into the committed corpus (libFuzzer's -merge=1 keeps it
# minimal). A crash is written under fuzz/artifacts/<target>/ and makes the script fail:
# fix it in the library and keep the input in fuzz/corpus/<target>/ (tests/fuzz_inputs.rs runs every one).
set -euo pipefail
cd "$(dirname "$0")/../fuzz"

secs=${1:-60}
shift || true
targets=("$@")
[ ${#targets[@]} -gt 0 ] || targets=(idx checkpoint image mask)

if ! cargo fuzz --version >/dev/null 2>&1; then
    echo "cargo-fuzz is not installed: cargo install cargo-fuzz" >&2
    exit 1
fi
export RUSTC_BOOTSTRAP=1
export CARGO_BUILD_JOBS=${CARGO_BUILD_JOBS:-1}
flags=(--sanitizer none)

start=$(date +%s)
nice -n 10 cargo fuzz build "${flags[@]}"
echo "built the fuzz targets in $(($(date +%s) - start)) s"

failed=()
for t in "${targets[@]}"; do
    new="target/new-corpus/$t"
    mkdir -p "$new" "artifacts/$t"
    echo "== $t: ${secs} s"
    # -rss_limit_mb: an input that makes the reader allocate past 2 GiB is a bug (a header
    # must not be able to ask for memory the file does not hold); -timeout: 10 s per input.
    if ! cargo fuzz run "${flags[@]}" "$t" "$new" "corpus/$t" -- \
        -max_total_time="$secs" -rss_limit_mb=2048 -timeout=10 -print_final_stats=1 \
        -artifact_prefix="artifacts/$t/"; then
        failed+=("$t")
    fi
    if [ "${FUZZ_UPDATE_CORPUS:-0}" = 1 ]; then
        cargo fuzz run "${flags[@]}" "$t" "corpus/$t" "$new" -- -merge=1 -rss_limit_mb=2048
    fi
done

du -sh corpus
if [ ${#failed[@]} -gt 0 ]; then
    echo "crashes in: ${failed[*]} (inputs under fuzz/artifacts/)" >&2
    exit 1
fi
echo "no crash in ${targets[*]} (${secs} s each)"
