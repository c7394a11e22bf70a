#!/usr/bin/env bash
# Prepares a GPU check for a session lent a device machine (see the device tool's README): the
# machine has no Rust toolchain, so this builds here and puts what the check needs into .device/
# (ignored by git through .git/info/exclude): the wgvae binary, the GPU test binaries, the
# embedded data they read, and the Vulkan loader packages. Then call the device tool with
#   carry: [".device"], command: "bash .device/device-check.sh"
# and the figures come back under $OUT.
set -euo pipefail
cd "$(dirname "$0")/.."
grep -qx '/.device/' .git/info/exclude 2>/dev/null || echo '/.device/' >> .git/info/exclude
rm -rf .device && mkdir -p .device/bin
cargo build --release --bins --tests >/dev/null
cp target/release/wgvae .device/bin/
for t in gpu_kernels conv_kernels train_step golden; do
    # the newest test executable of that name
    exe=$(ls -t target/release/deps/${t}-* | grep -v '\.d$' | head -n 1)
    cp "$exe" ".device/bin/$t"
done
cp tools/device-check.sh .device/
# the Vulkan loader (the NVIDIA driver ships the ICD), as the device README prescribes
mkdir -p .device/gl /tmp/amd64/partial
o='-oAPT::Architecture=amd64 -oAPT::Architectures=amd64 -oDir::State::Lists=/tmp/amd64'
# shellcheck disable=SC2086
apt-get $o update -qq >/dev/null
# shellcheck disable=SC2086
(cd .device/gl && apt-get $o download libvulkan1 >/dev/null)
du -sh .device
