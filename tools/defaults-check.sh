#!/usr/bin/env bash
# What a newcomer gets from `wgvae restore -i noisy.png -o out.png` with no other flag (the
# model chosen by the picture, the noise level estimated): on the test photos of PHOTOS
# (default data/photos, from tools/fetch-photos.sh), grey and colour, at sigma 15, 25 and 50
# on 0-255. The noisy inputs are eval-restore's own (--keep-inputs), so its table beside this
# one scores the photo models with the true sigma and the classical baselines (total
# variation among them) on exactly these inputs. Prints one Markdown row per photo and case:
# PSNR of the noisy input and of the default restoration, and the estimated sigma; then each
# clean photo restored the same way, scored against itself (a clean photo should come back
# nearly unchanged).
# Usage: tools/defaults-check.sh [PHOTOS] [WGVAE] [OUT]
#   COLORS="grey rgb" (default) picks the colours; REUSE=1 keeps OUT/<colour>/ from an earlier
#   run (its inputs and table) and only restores and scores again.
set -euo pipefail
photos=${1:-data/photos}
wgvae=${2:-target/release/wgvae}
out=${3:-runs/defaults-check}
mkdir -p "$out"
echo "| colour | case | photo | noisy | default restore | estimated sigma |"
echo "|---|---|---|---|---|---|"
for color in ${COLORS:-grey rgb}; do
    if [ "${REUSE:-0}" != 1 ] || [ ! -d "$out/$color/inputs" ]; then
        "$wgvae" eval-restore --photos "$photos" --color "$color" --model "photo-$color" \
            --cases "noise 15" "noise 25" "noise 50" --keep-inputs --out "$out/$color" --force \
            > "$out/$color.table" 2> "$out/$color.log"
    fi
    for case_dir in "$out/$color"/inputs/*/; do
        case=$(basename "$case_dir")
        [ "$case" = clean ] && continue
        for noisy in "$case_dir"*.png; do
            name=$(basename "$noisy")
            restored="$out/$color/restored/$case/$name"
            mkdir -p "$(dirname "$restored")"
            est=$("$wgvae" restore -i "$noisy" -o "$restored" --force 2>&1 \
                | sed -n 's/.*(\([0-9.]*\) on 0-255), estimated.*/\1/p')
            clean="$out/$color/inputs/clean/$name"
            scores=$("$wgvae" compare "$clean" "$noisy" "$restored" --json \
                | sed 's/.*"psnr":\([0-9.]*\).*/\1/' | xargs printf '%.2f ')
            read -r noisy_db restored_db <<<"$scores"
            echo "| $color | $case | ${name%.png} | $noisy_db | $restored_db | $est |"
        done
    done
done
echo
echo "| colour | clean photo | restored against itself | estimated sigma |"
echo "|---|---|---|---|"
for color in ${COLORS:-grey rgb}; do
    for clean in "$out/$color"/inputs/clean/*.png; do
        name=$(basename "$clean")
        restored="$out/$color/restored/clean/$name"
        mkdir -p "$(dirname "$restored")"
        est=$("$wgvae" restore -i "$clean" -o "$restored" --force 2>&1 \
            | sed -n 's/.*(\([0-9.]*\) on 0-255), estimated.*/\1/p')
        # "inf" when the output is the input, byte for byte
        db=$("$wgvae" compare "$clean" "$restored" | sed 's/.*PSNR \([^ ]*\) dB.*/\1/')
        printf '| %s | %s | %s | %s |\n' "$color" "${name%.png}" "$db" "$est"
    done
done
