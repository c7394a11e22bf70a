#!/bin/bash
# usage: final_eval.sh models/NAME.pt  -> fits learned blends (sigma 15/25/50) and evaluates tune+test crops, sigma 15/25/50 and 50% inpainting
M=$1; PY="nice -n 10 ${PYTHON:-python3}"
for s in 15 25 50; do $PY fitblend.py $M $s 0 0.04 >/dev/null; done
for s in 15 25 50; do for t in "" test; do $PY evalr.py $M sig$s steps=0 stride=2 G=${M%.pt}_A$s.pt $t; done; done
for t in "" test; do $PY evalr.py $M inp50 "final='mix'" stride=1 ib=0.7 steps=0 "sched=(1,1,1)" $t; done
