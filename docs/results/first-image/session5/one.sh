#!/bin/bash
# one.sh NAME OPTS : one cold generate; prints step1, step2, median, ratio, wall
name=$1; shift
t0=$(date +%s.%N)
JDIFFUSION_JAVA_OPTS="$*" /work/wt-fi5/jdiffusion generate --out /tmp/fi5/$name.png --trace /tmp/fi5/$name.json > /tmp/fi5/$name.out 2> /tmp/fi5/$name.err
t1=$(date +%s.%N)
python3 - /tmp/fi5/$name.json $name $t0 $t1 "$(sha256sum /tmp/fi5/$name.png | cut -c1-12)" "$(cut -d' ' -f1 /proc/loadavg)" <<'PY'
import json,sys,statistics
f,name,t0,t1,sha,load=sys.argv[1:]
st=[s['ms'] for s in json.load(open(f))['steps']]
m=statistics.median(st)
print(f"{name:14s} step1 {st[0]:6.0f} step2 {st[1]:5.0f} median {m:5.0f} ratio {st[0]/m:5.2f} sum {sum(st)/1000:5.2f} wall {float(t1)-float(t0):5.2f} load {load} png {sha}")
PY
grep "waited" /tmp/fi5/$name.err | sed 's/^/    /'
