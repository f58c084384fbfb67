#!/usr/bin/env bash
# Cold `jdiffusion generate` (default model, default settings: fashion-ddpm-32, DDIM, 50 steps, 16 images), A/B
# alternating over configurations, each line of output prefixed by timestamp.py with wall seconds since the launcher
# started, the process's CPU seconds and its JIT compiler threads' CPU seconds.
#   BASE: a launcher tree (jdiffusion, reference/target/jdiffusion.jar, weights/models) of the commit before this work;
#   NEW: one of this branch, its AOT cache already trained (the launcher trains it on its first computing command).
# Usage: run.sh BASE NEW ROUNDS CONFIGS...
#   configs: base (BASE as it was), off (NEW, no warm-up, no AOT cache), warm (NEW, warm-up only),
#            aot (NEW, AOT cache only), warm+aot (NEW as shipped: both), warm+aot+cic3 (and -XX:CICompilerCount=3)
set -uo pipefail
HERE="$(cd "$(dirname "$0")" && pwd)"
BASE="$1" NEW="$2" ROUNDS="$3"; shift 3
OUT="$(mktemp -d)"
for r in $(seq "$ROUNDS"); do
  for cfg in "$@"; do
    case "$cfg" in
      base)     tree="$BASE" aot=off opts="";;
      off)      tree="$NEW" aot=off opts="-Djdiffusion.warmup=false";;
      warm)     tree="$NEW" aot=off opts="";;
      aot)      tree="$NEW" aot=on opts="-Djdiffusion.warmup=false";;
      warm+aot) tree="$NEW" aot=on opts="";;
      warm+aot+cic3) tree="$NEW" aot=on opts="-XX:CICompilerCount=3";;   # 2 C2 compiler threads instead of 1
      *) echo "unknown config $cfg" >&2; exit 2;;
    esac
    echo "=== round $r config $cfg | $(uptime)"
    echo "=== JDIFFUSION_AOT=$aot JDIFFUSION_JAVA_OPTS='$opts' $tree/jdiffusion generate --out $OUT/$cfg-$r.png"
    JDIFFUSION_AOT="$aot" JDIFFUSION_JAVA_OPTS="$opts" python3 "$HERE/timestamp.py" "$tree/jdiffusion" generate --out "$OUT/$cfg-$r.png"
    sha256sum "$OUT/$cfg-$r.png" | sed 's/^/=== png sha256 /'
  done
done
