#!/usr/bin/env bash
# Fetches the public-domain / CC0 photos the photo prior trains and is tested on, from two pinned
# wheels (a wheel is a zip): scikit-image 0.24.0 and PyWavelets 1.7.0, with the ordinary package
# client (`pip download --no-deps`). Checks their sha256, unpacks the photos into
# data/photos/{train,test}/ as PNG with the fixed split below, and writes LICENSES.md beside them.
#
#   test  = astronaut, coffee, chelsea, motorcycle_left   (held out entirely: never cropped for
#           training)
#   train = camera, rocket, hubble_deep_field, motorcycle_right, coins, moon, brick, grass,
#           gravel, retina, cell, immunohistochemistry (ihc) from scikit-image; aero and ascent
#           from PyWavelets (its camera is scikit-image's scene: left out)
#
# Needs python3 (standard library only) and pip. Re-running replaces data/photos.
set -euo pipefail
cd "$(dirname "$0")/.."

SKIMAGE=scikit_image-0.24.0-cp311-cp311-manylinux_2_17_x86_64.manylinux2014_x86_64.whl
SKIMAGE_SHA=fa27b3a0dbad807b966b8db2d78da734cb812ca4787f7fbb143764800ce2fa9c
PYWT=pywavelets-1.7.0-cp311-cp311-manylinux_2_17_x86_64.manylinux2014_x86_64.whl
PYWT_SHA=05dc2930cf9b7f61a24b2fe52b18e9d6046012fc46fc360355222781a95a1378

PIP=${PIP:-pip}
if ! command -v "$PIP" >/dev/null 2>&1; then
  PIP="python3 -m pip"
fi

cache=data/.wheels
mkdir -p "$cache"
for spec in "scikit-image==0.24.0 $SKIMAGE $SKIMAGE_SHA" "PyWavelets==1.7.0 $PYWT $PYWT_SHA"; do
  set -- $spec
  if [ ! -f "$cache/$2" ]; then
    # the platform and Python are pinned so every machine gets the same file (and sha256);
    # the photos inside do not depend on them
    $PIP download --no-deps --only-binary=:all: --python-version 3.11 \
      --platform manylinux_2_17_x86_64 "$1" -d "$cache" >/dev/null
  fi
  echo "$3  $cache/$2" | sha256sum -c --quiet - || { echo "sha256 mismatch: $cache/$2" >&2; exit 1; }
done

python3 tools/unpack_photos.py "$cache/$SKIMAGE" "$cache/$PYWT" data/photos
