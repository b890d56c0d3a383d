#!/bin/bash
# createTicket's CPU per request, two trees alternated in one run (each tree's own bench scripts):
#     bash bench/side_by_side.sh BEFORE_TREE [AFTER_TREE] [ROUNDS]
# e.g. a baseline exported with `git archive <rev> src bench | tar -x -C /tmp/before`.
set -euo pipefail
before=$1; after=${2:-$(cd "$(dirname "$0")/.." && pwd)}; rounds=${3:-4}
py=${PYTHON:-/work/main/.venv/bin/python}
for round in $(seq "$rounds"); do
  for tree in "$before" "$after"; do
    label=$([ "$tree" = "$before" ] && echo before || echo after)
    inproc=$(cd "$tree" && PYTHONPATH="$tree/src" "$py" bench/intake_inprocess.py)
    unit=$(cd "$tree/bench" && PYTHONPATH="$tree/src" "$py" intake_unit.py sqlite | cut -d, -f1)
    echo "round $round $label: in-process $inproc; unit $unit"
  done
done
