#!/usr/bin/env python3
"""Summarises run.sh output: one row per run and the medians per configuration (markdown)."""
import re, statistics, sys
from collections import defaultdict

runs, cur = [], None
for line in open(sys.argv[1]):
    m = re.match(r'=== round (\d+) config (\S+) \|.*load average: ([\d.]+)', line)
    if m:
        cur = dict(round=int(m[1]), cfg=m[2], load=float(m[3]), steps=[], waited=0.0)
        runs.append(cur)
        continue
    if cur is None: continue
    m = re.match(r'\s*([\d.]+) cpu\s+([\d.]+) jit\s+([\d.]+) \| (.*)', line)
    if m:
        t, text = float(m[1]), m[4]
        if text.startswith('generate: ') and 'waited' not in text: cur['loaded'] = t
        w = re.search(r'waited ([\d.]+) s', text)
        if w: cur['waited'] = float(w[1])
        s = re.match(r'step (\d+)/\d+ .* full (\d+) ms', text)
        if s:
            cur['steps'].append(int(s[2]))
            if s[1] == '1': cur['step1_at'] = t
        cur['jit'] = float(m[3])
    m = re.match(r'\s*([\d.]+) exit, cpu user ([\d.]+) sys ([\d.]+) maxrss (\d+)', line)
    if m: cur.update(wall=float(m[1]), cpu=float(m[2]) + float(m[3]), rss=int(m[4]))
    m = re.match(r'=== png sha256 (\w{12})', line)
    if m: cur['sha'] = m[1]

print('| round | config | load (1 min) | model loaded at s | waited for warm-up s | step 1 ms | median step ms | step 1 / median | step 1 done at s | wall s | CPU s | JIT CPU s | PNG sha256 |')
print('|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|')
by = defaultdict(list)
for r in runs:
    if 'wall' not in r or not r['steps']: continue
    r['med'] = statistics.median(r['steps'])
    r['ratio'] = r['steps'][0] / r['med']
    by[r['cfg']].append(r)
    print(f"| {r['round']} | {r['cfg']} | {r['load']:.1f} | {r.get('loaded', float('nan')):.1f} | {r['waited']:.1f} | {r['steps'][0]} | {r['med']:.0f} | "
          f"{r['ratio']:.1f} | {r.get('step1_at', float('nan')):.1f} | {r['wall']:.1f} | {r['cpu']:.1f} | {r.get('jit', 0):.1f} | {r.get('sha', '?')} |")
print()
print('| config | runs | median wall s | median step 1 done at s | median step 1 ms | median of median step ms | median step 1 / median | median CPU s |')
print('|---|---:|---:|---:|---:|---:|---:|---:|')
for cfg, rs in by.items():
    md = lambda k: statistics.median(r[k] for r in rs if k in r)
    print(f"| {cfg} | {len(rs)} | {md('wall'):.1f} | {md('step1_at'):.1f} | {md('steps') if False else statistics.median(r['steps'][0] for r in rs):.0f} | "
          f"{md('med'):.0f} | {md('ratio'):.1f} | {md('cpu'):.1f} |")
