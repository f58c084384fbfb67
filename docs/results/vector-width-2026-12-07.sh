#!/usr/bin/env bash
# Issue 19 item 5 (every vector width), measured on one machine in one locked run:
#   A. GEMM 2048^3: Java at 512 bits, forced 256 bits and with the JVM limited to AVX2 (-XX:UseAVX=2: 256-bit
#      vectors, 16 registers) against numpy/OpenBLAS and torch (OpenBLAS), alternating, 3 rounds;
#   B. GEMM under -XX:UseAVX=2: the kernels before this branch (d59c0b4, 12x16 micro-tile for 16 registers)
#      against this branch (6x16), alternating, 3 rounds;
#   C. SD 1.5 UNet, batch 2 (a CFG step) at latent 32 under -XX:UseAVX=2: before vs after, alternating (runs after D);
#   D. SD 1.5 latent 32 and 64, batch 2: Java at 512 bits and AVX2 vs PyTorch, and stable-diffusion.cpp when
#      $SD_CPP is set.
# Run from the repository root: flock /work/notes/bench.lock docs/results/vector-width-2026-12-07.sh BASE_TREE [SD_CLI]
# SECTIONS picks sections (default "C D", the heavy ones, for the lock). A and B start one small process at a time
# (GEMM 2048^3: ~50 MB, 10-20 s each), run as: SECTIONS="A B" docs/results/vector-width-2026-12-07.sh BASE_TREE
# (BASE_TREE: d59c0b4 extracted and built, `git archive d59c0b4 | tar -x -C BASE_TREE; ./mvnw -DskipTests package -pl reference -am`)
set -uo pipefail
BASE="${1:?base tree}"
export JDIFFUSION_HEAP=10g
SECTIONS="${SECTIONS:-C D}"
want() { [[ " $SECTIONS " == *" $1 "* ]]; }
stamp() { echo "# $(date -u +%H:%M:%S) load: $(cut -d' ' -f1-3 /proc/loadavg)"; }
numpy_gemm() {  # [OPENBLAS_CORETYPE]
  OPENBLAS_CORETYPE="${1:-}" OPENBLAS_NUM_THREADS=2 /usr/bin/python3 -c '
import time, numpy as np
a = np.random.rand(2048, 2048).astype(np.float32); b = np.random.rand(2048, 2048).astype(np.float32)
g = []
for i in range(9):
    t = time.perf_counter(); a @ b; dt = time.perf_counter() - t
    if i >= 2: g.append(2 * 2048 ** 3 / dt / 1e9)
import os
ct = os.environ.get("OPENBLAS_CORETYPE")
label = " (OPENBLAS_CORETYPE=" + ct + ")" if ct else ""
g.sort(); print(f"numpy/OpenBLAS{label} gemm_2048={g[len(g) // 2]:.1f} GFLOP/s (median of 7)")'
}
gemm() {  # launcher, JVM options
  JDIFFUSION_JAVA_OPTS="$2" "$1" bench --gemm-only --runs 7 2>/dev/null | grep -E "^vector_bits|^gemm_"
}

if want A; then
echo "== A. GEMM 2048^3: Java 512 / 256 / AVX2 vs numpy and torch (OpenBLAS)"; stamp
/usr/bin/python3 bench/side_by_side.py --cases gemm-2048 --vector-bits 512,256,avx2 --rounds 3 --runs 7
stamp
fi

if want B; then
echo; echo "== B. GEMM 2048^3 with the JVM limited to AVX2 (-XX:UseAVX=2): before (d59c0b4) vs after, alternating"
for r in 1 2 3; do
  stamp; echo "round $r before:"; gemm "$BASE/jdiffusion" "-XX:UseAVX=2"
  echo "round $r after:"; gemm ./jdiffusion "-XX:UseAVX=2"
  numpy_gemm
  numpy_gemm Haswell   # OpenBLAS's AVX2 kernels: what it runs on a CPU without AVX-512
done
stamp
fi

if want D; then
[ -n "${2:-}" ] && [ -x "$2" ] && export SD_CPP="$2"
echo; echo "== D. SD 1.5 batch 2 (one CFG step): Java 512 / AVX2 vs PyTorch${SD_CPP:+ and stable-diffusion.cpp ($SD_CPP)}"; stamp
/usr/bin/python3 bench/side_by_side.py --cases sd15-32-b2,sd15-64-b2 --vector-bits 512,avx2 --runs 3 --java-args "--gemm-size 0"
stamp
fi

if want C; then
echo; echo "== C. SD 1.5 UNet latent 32, batch 2, -XX:UseAVX=2: before (d59c0b4) vs after, alternating"
for r in 1 2; do
  for side in before after; do
    stamp; echo "round $r $side:"
    launcher=./jdiffusion; [ $side = before ] && launcher="$BASE/jdiffusion"
    JDIFFUSION_JAVA_OPTS="-XX:UseAVX=2" "$launcher" bench --arch sd15 --latent 32 --batch 2 --runs 3 --gemm-size 0 2>/dev/null \
      | grep -E "^vector_bits|^run [0-9]|^median_ms|^peak_rss"
  done
done
stamp
fi
