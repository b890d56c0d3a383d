#!/usr/bin/env bash
# What the rate limiter, the metrics and the access log cost createTicket's request path, in CPU
# instructions (valgrind's callgrind: the same figure whatever else the machine is doing).
# bench/intake_inprocess.py (the whole ASGI app in-process, SQLite, worker off) runs under
# callgrind with N1 and N2 requests per caller for each variant; the difference between the two
# sizes takes out start-up:  instructions per request = (I(N2) - I(N1)) / (32 * (N2 - N1)).
# A variant is LABEL:NAME=VALUE[,NAME=VALUE]: the environment of its runs (PYTHONPATH=... runs
# another checkout, e.g. the code before these features). The access log goes to /dev/null.
#   bash bench/request_path_instructions.sh 'off:TELEMETRON_RATE_LIMIT=off' 'on:TELEMETRON_RATE_LIMIT=1000000/second'
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PY:-.venv/bin/python}
N1=${N1:-20} N2=${N2:-80}
count() {  # count N VARIANT_ENV...: total instructions (Ir) of the run
  local n=$1 out; shift
  out=$(mktemp)
  env "$@" N="$n" valgrind --tool=callgrind --callgrind-out-file="$out" "$PY" bench/intake_inprocess.py >/dev/null 2>&1
  awk '/^summary:/ {print $2}' "$out"; rm -f "$out"
}
first=""
for variant in "$@"; do
  label=${variant%%:*}
  IFS=',' read -r -a settings <<< "${variant#*:}"
  a=$(count "$N1" "${settings[@]}"); b=$(count "$N2" "${settings[@]}")
  per=$(( (b - a) / (32 * (N2 - N1)) ))
  if [ -z "$first" ]; then first=$per; fi
  awk -v l="$label" -v p="$per" -v f="$first" 'BEGIN {printf "%-28s %9d instructions per request  %+6.1f%%\n", l, p, (p / f - 1) * 100}'
done
