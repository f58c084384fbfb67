#!/bin/bash
# run.sh CP SECONDS [jvm opts]: compile time per method from JFR
CP=$1; S=$2; shift 2
J=/usr/lib/jvm/temurin-25-jdk-amd64/bin
rm -f /tmp/fi5/h/c.jfr
$J/java --add-modules jdk.incubator.vector -XX:-UseProfiledLoopPredicate -XX:+UseSerialGC "$@" -XX:StartFlightRecording:filename=/tmp/fi5/h/c.jfr,settings=/tmp/fi5/h/comp.jfc -cp /tmp/fi5/h:$CP jdiffusion.kernels.H $S 2>&1 | grep -v WARN
$J/jfr print --json --events jdk.Compilation /tmp/fi5/h/c.jfr | python3 -c "
import json,sys,collections
d=json.load(sys.stdin)['recording']['events']
c=collections.Counter();n=collections.Counter()
for e in d:
  v=e['values']; m=v['method']; k=m['type']['name'].split('/')[-1]+'.'+m['name']+' L'+str(v['compileLevel'])+(' osr' if v['isOsr'] else '')
  c[k]+=float(v['duration'].replace('PT','').rstrip('S'))*1000; n[k]+=1
tot=sum(c.values())
print('total compile ms', round(tot))
for k,x in c.most_common(12): print(f'{x:7.1f} {n[k]}x {k}')
"
