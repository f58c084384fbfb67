#!/bin/bash
# ab.sh ROUNDS : cold default generate, alternating: main (before), this branch (default = warm-up on), this branch with -Djdiffusion.warmup=false
R=$1
for r in $(seq ${R0:-1} $R); do
for cfg in "after-warmup-on|/work/wt-fi5|-Djdiffusion.warmup=true" "after|/work/wt-fi5|" "before|/work/main|"; do
  IFS='|' read -r name tree opts <<< "$cfg"
  o=/tmp/fi5/ab-$name-$r
  t0=$(date +%s.%N)
  JDIFFUSION_JAVA_OPTS="$opts" /usr/bin/time -f "%M %U %S" -o $o.time $tree/jdiffusion generate --out $o.png --trace $o.json > $o.out 2> $o.err
  t1=$(date +%s.%N)
  python3 - $o $name $r $t0 $t1 "$(sha256sum $o.png | cut -c1-12)" "$(cut -d' ' -f1 /proc/loadavg)" <<'PY'
import json,sys,statistics
o,name,r,t0,t1,sha,load=sys.argv[1:]
st=[s['ms'] for s in json.load(open(o+'.json'))['steps']]
m=statistics.median(st)
rss,u,s=open(o+'.time').read().split()[-3:]
w=[l.strip() for l in open(o+'.err') if 'waited' in l]
print(f"| {r} | {name} | {st[0]:.0f} | {m:.0f} | {st[0]/m:.2f} | {sum(st)/1000:.2f} | {float(t1)-float(t0):.2f} | {float(u)+float(s):.1f} | {int(rss)//1024} | {load} | {sha} | {w[0].split(': ',1)[1] if w else ''} |")
PY
done; done
