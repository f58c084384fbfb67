#!/usr/bin/env bash
# exp2.sh TREE ROUNDS "name|ENV=..|opts" ...
TREE="$1"; ROUNDS="$2"; shift 2
for r in $(seq "$ROUNDS"); do for cfg in "$@"; do
  IFS='|' read -r name envv opts <<< "$cfg"
  ENVV="$envv" /work/notes/s3/fi/exp.sh "$TREE" 1 "$name|$opts" | grep -v "^logs" | sed "s/ r1 / r$r /"
done; done
