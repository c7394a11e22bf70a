#!/usr/bin/env bash
# Runs on the device machine from the repository root (copied there as .device/device-check.sh
# by tools/device-bundle.sh): adapter info, the GPU kernel, conv, training-step and PyTorch golden
# tests, the kernel and training benchmarks (MLP and conv), each log under $OUT. Nothing here is
# compiled on that machine.
set -uo pipefail
for f in .device/gl/*.deb; do dpkg -x "$f" /; done
ldconfig
# the NVIDIA ICD where the system lists no Vulkan driver at all
if ! compgen -G '/usr/share/vulkan/icd.d/*.json' >/dev/null && ! compgen -G '/etc/vulkan/icd.d/*.json' >/dev/null; then
    export VK_DRIVER_FILES=/usr/local/nvidia/share/vulkan/icd.d/nvidia_icd.json
fi
export CI=true WGPU_BACKEND=vulkan
out=${OUT:-/tmp/out}
mkdir -p "$out"
nvidia-smi --query-gpu=name,driver_version --format=csv > "$out/gpu.txt" 2>&1
.device/bin/wgvae info > "$out/info.txt" 2>&1
.device/bin/gpu_kernels > "$out/test-gpu_kernels.txt" 2>&1; echo "gpu_kernels exit $?" >> "$out/summary.txt"
for t in conv_kernels train_step golden; do
    .device/bin/$t > "$out/test-$t.txt" 2>&1; echo "$t exit $?" >> "$out/summary.txt"
done
.device/bin/wgvae bench kernels --reps 50 > "$out/bench-kernels.txt" 2>&1
.device/bin/wgvae bench train --batch 128 1024 --steps 100 > "$out/bench-train.txt" 2>&1
.device/bin/wgvae bench train --arch conv --batch 128 1024 --steps 50 >> "$out/bench-train.txt" 2>&1
cat "$out"/summary.txt "$out"/bench-kernels.txt "$out"/bench-train.txt
