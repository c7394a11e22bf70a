#!/usr/bin/env bash
# The noise-level estimator (`wgvae estimate-noise`, what `restore --noise-sigma auto` uses)
# against the truth: each photo of PHOTOS (default data/photos/test, from
# tools/fetch-photos.sh) degraded by `wgvae degrade` with Gaussian noise of sigma 5, 10, 15, 25
# and 50 on 0-255 (seeds 1-3), and clean (sigma 0). Prints a Markdown table: the mean estimate
# per photo and sigma, and the largest relative error per sigma.
# Usage: tools/noise-accuracy.sh [PHOTOS] [WGVAE]
set -euo pipefail
photos=${1:-data/photos/test}
wgvae=${2:-target/release/wgvae}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
sigmas=(0 5 10 15 25 50)
printf '| photo |'; for s in "${sigmas[@]}"; do printf ' %s |' "$s"; done; echo
printf '|---|'; for _ in "${sigmas[@]}"; do printf -- '---|'; done; echo
declare -A worst
for photo in "$photos"/*.png "$photos"/*.jpg; do
    [ -e "$photo" ] || continue
    name=$(basename "${photo%.*}")
    printf '| %s |' "$name"
    for s in "${sigmas[@]}"; do
        total=0
        for seed in 1 2 3; do
            if [ "$s" = 0 ]; then
                input=$photo
            else
                input=$work/$name-$s-$seed.png
                sigma=$(awk -v s="$s" 'BEGIN { printf "%.6f", s / 255 }')
                "$wgvae" degrade -i "$photo" -o "$input" --noise-sigma "$sigma" --seed "$seed" \
                    --force 2>/dev/null
            fi
            est=$("$wgvae" estimate-noise --json "$input" | sed 's/.*"sigma":\([0-9.e-]*\).*/\1/')
            total=$(awk -v t="$total" -v e="$est" 'BEGIN { printf "%.6f", t + e * 255 / 3 }')
        done
        printf ' %.1f |' "$total"
        if [ "$s" != 0 ]; then
            err=$(awk -v e="$total" -v s="$s" 'BEGIN { d = (e - s) / s; if (d < 0) d = -d; printf "%.3f", d }')
            worst[$s]=$(awk -v a="${worst[$s]:-0}" -v b="$err" 'BEGIN { print (b > a) ? b : a }')
        fi
    done
    echo
done
printf '| largest error |'
for s in "${sigmas[@]}"; do
    if [ "$s" = 0 ]; then printf ' |'; else
        awk -v w="${worst[$s]}" 'BEGIN { printf " %.1f%% |", 100 * w }'
    fi
done
echo
