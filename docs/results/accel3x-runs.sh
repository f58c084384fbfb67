#!/bin/bash
# issue 19 item 4: selection on seed set A (--seed 1000, 16 images), then the report on seed set B
# (--seed 2000, 32 images) with the same rows plus the base model's mixed-resolution grid rows.
# Run under: flock /work/notes/bench.lock
set -u
cd /work/wt-accel3x
export JAVA_HOME=/usr/lib/jvm/temurin-25-jdk-amd64 JDIFFUSION_HEAP=3g
MRGRID=mr-b0.5-s0.2@50,mr-b0.5-s0.4@50,mr-b0.5-s0.6@50,mr-b0.75-s0.5@50,mr-b0.5-s0.5@25,mr-b0.5-s0.5+dc-n2-b0-u@50,mr-b0.5-s0.2+dc-n3-b0-u@50,mr-b0.5-s0.5+dc-n2-b0-u@25,mr-b0.5-s0.5+dc-n3-b0-u@20,mr-b0.5-s0.5+ad-d0.01-c4@50
BASE_DDIM=full@15,full@20,full@25,dc-n2-b0-u@30,dc-n2-b0-nu@30,dc-n3-b0-u@40,dc-n3-b0-nu@40,dc-n3-b0-nu@50,dc-n4-b0-nu@50,ad-d0.05-c2@35,ad-d0.05-c1+dc-n2-b0-u@35,ad-d0.02-c1+dc-n2-b0-u@35,ad-d0.05-c1+dc-n2-b0-u@30
BASE_DPM=full@10,full@12,full@15,dc-n2-b0-u@20,dc-n2-b0-u@25,dc-n3-b0-u@25,dc-n3-b0-u@30,dc-n3-b0-nu@30,dc-n4-b0-nu@40,ad-d0.05-c2@25,ad-d0.05-c1+dc-n2-b0-u@25
MR_DDIM=$MRGRID,mr-b0.75-s0.3@50,mr-b0.5-s0.2+dc-n2-b0-u@30,mr-b0.75-s0.3+dc-n3-b0-nu@40,mr-b0.75-s0.5+dc-n3-b0-nu@40,mr-b0.5-s0.3+dc-n3-b0-nu@50
MR_DPM=$MRGRID,mr-b0.5-s0.2@15,mr-b0.5-s0.2+dc-n2-b0-u@20,mr-b0.75-s0.3+dc-n2-b0-u@20
B=weights/models/fashion-ddpm-32; M=weights/models/fashion-ddpm-32-mr; O=docs/results/accel3x-selection-A
run() { echo "### $(date -u +%T) load $(cut -d' ' -f1-3 /proc/loadavg): ./jdiffusion sweep $*"; ./jdiffusion sweep "$@" 2>&1 | grep -v "^step " ; echo "### $(date -u +%T) done rc=${PIPESTATUS[0]}"; }
# --- selection, seed set A
run --model $B --seed 1000 --seeds 16 --schedulers ddim    --configs $BASE_DDIM --out $O/A-base-ddim
run --model $B --seed 1000 --seeds 16 --schedulers dpmpp2m --configs $BASE_DPM  --out $O/A-base-dpmpp2m
run --model $M --seed 1000 --seeds 16 --schedulers ddim    --configs $MR_DDIM   --out $O/A-mr-ddim
run --model $M --seed 1000 --seeds 16 --schedulers dpmpp2m --configs $MR_DPM    --out $O/A-mr-dpmpp2m
# --- report, seed set B (same rows; base model also runs the mixed-resolution grid rows)
D=docs/results
run --model $B --seed 2000 --seeds 32 --schedulers ddim    --configs $BASE_DDIM,$MRGRID --out $D/accel3x-fashion-ddpm-32-ddim
run --model $M --seed 2000 --seeds 32 --schedulers ddim    --configs $MR_DDIM   --out $D/accel3x-fashion-ddpm-32-mr-ddim
run --model $B --seed 2000 --seeds 32 --schedulers dpmpp2m --configs $BASE_DPM,$MRGRID --out $D/accel3x-fashion-ddpm-32-dpmpp2m
run --model $M --seed 2000 --seeds 32 --schedulers dpmpp2m --configs $MR_DPM    --out $D/accel3x-fashion-ddpm-32-mr-dpmpp2m
