#!/usr/bin/env bash
# steady-state A/B of one JVM flag: bench medians alternating
T=/work/wt-first2/jdiffusion
for r in 1 2 3; do
  for f in "" "-XX:-UseProfiledLoopPredicate"; do
    for c in "--arch ddpm-cifar10 --batch 8" "--arch ddpm-cifar10 --batch 1" "--arch sd15 --batch 2 --latent 32"; do
      m=$(JDIFFUSION_JAVA_OPTS="$f" $T bench $c --runs 5 --gemm-size 0 2>/dev/null | sed -n 's/^median_ms=//p')
      echo "r$r [${f:-default}] $c median_ms=$m load $(cut -d' ' -f1 /proc/loadavg)"
    done
  done
done
