#!/usr/bin/env bash
# final A/B: main (before) vs first2 (after), cold default generate, alternating
for r in 1 2 3; do
  /work/notes/s3/fi/exp.sh /work/main 1 "before(main)|" | grep -v ^logs | sed "s/ r1 / r$r /"
  /work/notes/s3/fi/exp.sh /work/wt-first2 1 "after(default)|" | grep -v ^logs | sed "s/ r1 / r$r /"
  /work/notes/s3/fi/exp.sh /work/wt-first2 1 "after(warm-up on)|-Djdiffusion.warmup=true" | grep -v ^logs | sed "s/ r1 / r$r /"
done
