#!/usr/bin/env bash
# What notifications cost createTicket's request path, in CPU instructions (valgrind's callgrind
# counts instructions, not seconds: the same figure whatever else the machine is doing).
# bench/intake_inprocess.py (the whole ASGI app in-process, SQLite, delivery worker off) runs under
# callgrind with N1 and N2 requests per caller, for an organization without and with Slack + a
# webhook; the difference between the two sizes takes out start-up, so
#   instructions per request = (I(N2) - I(N1)) / (32 * (N2 - N1)).
#   bash bench/notification_instructions.sh            # ~10 min
set -euo pipefail
cd "$(dirname "$0")/.."
N1=${N1:-20} N2=${N2:-80}
count() {  # count NOTIFY N: total instructions (Ir) of the run
  local out; out=$(mktemp)
  NOTIFY=$1 N=$2 valgrind --tool=callgrind --callgrind-out-file="$out" .venv/bin/python bench/intake_inprocess.py >/dev/null 2>&1
  awk '/^summary:/ {print $2}' "$out"; rm -f "$out"
}
for notify in "" 1; do
  a=$(count "$notify" "$N1"); b=$(count "$notify" "$N2")
  per=$(( (b - a) / (32 * (N2 - N1)) ))
  if [ -n "$notify" ]; then label="Slack + webhook"; else label="no destination"; fi
  echo "$label: $per instructions per request"
  echo "$per" >> /tmp/notification_instructions.$$
done
awk 'NR == 1 {a = $1} NR == 2 {printf "notifications: %+.1f%% instructions per request\n", ($1 / a - 1) * 100}' /tmp/notification_instructions.$$
rm -f /tmp/notification_instructions.$$
