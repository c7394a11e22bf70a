#!/usr/bin/env bash
# Makes sure wgpu can find a Vulkan driver. On Linux with no Vulkan driver (ICD) installed,
# installs Mesa's software driver, lavapipe (package mesa-vulkan-drivers, which brings the
# Vulkan loader too). Does nothing elsewhere, or when a driver is already there.
set -euo pipefail
[ "$(uname -s)" = Linux ] || exit 0

have_vulkan() {
    local icds libs
    icds=$(ls /usr/share/vulkan/icd.d/*.json /etc/vulkan/icd.d/*.json 2>/dev/null || true)
    # captured, not piped into grep -q: under pipefail an early grep exit fails the pipe
    libs=$( (ldconfig -p || /sbin/ldconfig -p) 2>/dev/null || true)
    [ -n "$icds" ] && [[ $libs == *libvulkan.so.1* ]]
}

have_vulkan && exit 0
if ! command -v apt-get >/dev/null; then
    echo "no Vulkan driver found and no apt-get: install your distribution's Mesa Vulkan drivers (lavapipe)" >&2
    exit 1
fi
echo "no Vulkan driver found: installing Mesa's software Vulkan driver (mesa-vulkan-drivers)" >&2
sudo=""
[ "$(id -u)" = 0 ] || sudo="sudo"
$sudo apt-get update -qq >&2
DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq mesa-vulkan-drivers >&2
have_vulkan
