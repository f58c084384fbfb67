#!/usr/bin/env bash
# Where the time before the first image goes: one cold `generate` per launcher tree with the JVM's startup phases
# (-Xlog:startuptime) and the warm-up's rounds (-Djdiffusion.warmup.log=true, ignored by BASE), timestamped as run.sh.
# Usage: first-second.sh BASE NEW
set -uo pipefail
HERE="$(cd "$(dirname "$0")" && pwd)"
OUT="$(mktemp -d)"
for tree in "$@"; do
  echo "=== $tree | $(uptime)"
  echo "=== JDIFFUSION_JAVA_OPTS='-Xlog:startuptime -Djdiffusion.warmup.log=true' $tree/jdiffusion generate --out $OUT/x.png"
  JDIFFUSION_JAVA_OPTS="-Xlog:startuptime -Djdiffusion.warmup.log=true" python3 "$HERE/timestamp.py" "$tree/jdiffusion" generate --out "$OUT/x.png"
done
