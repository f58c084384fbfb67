#!/usr/bin/env bash
# exp.sh TREE ROUNDS "name|opts" ... : cold generate, alternating configs; prints step1, median, wall, sha
TREE="$1"; ROUNDS="$2"; shift 2
OUT=$(mktemp -d)
for r in $(seq "$ROUNDS"); do
  for cfg in "$@"; do
    name="${cfg%%|*}"; opts="${cfg#*|}"
    t0=$(date +%s.%N)
    env ${ENVV:-} JDIFFUSION_JAVA_OPTS="$opts" "$TREE/jdiffusion" generate --out "$OUT/$name-$r.png" --trace "$OUT/$name-$r.json" > "$OUT/$name-$r.log" 2>&1
    rc=$?
    t1=$(date +%s.%N)
    python3 - "$OUT/$name-$r.json" "$name" "$r" "$t0" "$t1" "$rc" "$(sha256sum "$OUT/$name-$r.png" | cut -c1-12)" "$(cut -d' ' -f1 /proc/loadavg)" <<'PY'
import json,sys,statistics
f,name,r,t0,t1,rc,sha,load=sys.argv[1:]
try:
  st=[s['ms'] for s in json.load(open(f))['steps']]
  print(f"{name:28s} r{r} step1 {st[0]:7.0f} ms  step2 {st[1]:6.0f}  median {statistics.median(st):5.0f}  ratio {st[0]/statistics.median(st):5.1f}  sum {sum(st)/1000:5.2f} s  wall {float(t1)-float(t0):5.2f} s  load {load}  png {sha} rc {rc}")
except Exception as e:
  print(name, r, 'failed', e, 'rc', rc)
PY
  done
done
echo "logs in $OUT"
