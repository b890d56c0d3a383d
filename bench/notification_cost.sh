#!/usr/bin/env bash
# What notifications cost createTicket: an organization with no destination vs one with Slack
# and a webhook, in alternating 10 s wrk runs on one server (the order flips each round), SQLite.
# Each run prints wrk's tickets/s and the server's CPU time per ticket (user + system, from
# /proc), then the medians and the cost. CPU per ticket is the steadier figure when other jobs
# share the machine; compare figures from one run of this script.
#   bash bench/notification_cost.sh [rounds]            # delivery worker off: the request path
#   WORKER=1 bash bench/notification_cost.sh [rounds]   # with the in-process worker delivering to
#                                                       # a local receiver (another process); each
#                                                       # run starts once the outbox is drained
#   RUN_SECONDS=5 ...                                   # shorter runs (default 10 s)
set -euo pipefail
T="$(cd "$(dirname "$0")/.." && pwd)/.venv/bin/telemetron"
LUA="$(cd "$(dirname "$0")" && pwd)/create_ticket.lua"
PORT=${PORT:-8769}
RECEIVER_PORT=${RECEIVER_PORT:-8770}
work=$(mktemp -d)
server="" receiver=""
trap 'kill $server $receiver 2>/dev/null || true; rm -rf "$work"' EXIT
export TELEMETRON_DATABASE_URL="sqlite:///$work/t.db" TELEMETRON_LOG_LEVEL=warning
if [ "${WORKER:-0}" = 1 ]; then
  export TELEMETRON_RUN_WORKER=true
  target=http://127.0.0.1:$RECEIVER_PORT
  python3 "$(dirname "$0")/ok_receiver.py" "$RECEIVER_PORT" & receiver=$!
else
  export TELEMETRON_RUN_WORKER=false  # messages stay queued
  target=http://127.0.0.1:9
fi
key() { python3 -c "import json,sys; print(json.load(sys.stdin)['$1'])"; }
"$T" db upgrade >/dev/null
plain=$("$T" org create Plain --category Connectivity --json | key apiKey)
hooked_json=$("$T" org create Hooked --category Connectivity --json)
hooked=$(echo "$hooked_json" | key apiKey)
org=$(echo "$hooked_json" | key organizationId)
"$T" webhook add --org "$org" "$target/hook" >/dev/null
"$T" slack set --org "$org" --webhook-url "$target/slack" >/dev/null
"$T" serve --port "$PORT" >/dev/null 2>&1 & server=$!
for _ in $(seq 150); do curl -sf "http://127.0.0.1:$PORT/healthz" >/dev/null && break; sleep 0.2; done
ticks=$(getconf CLK_TCK)
cpu() {  # CPU ticks of the server and its children so far
  local total=0 pid
  for pid in $server $(pgrep -P "$server" || true); do
    total=$((total + $(awk '{print $14 + $15}' "/proc/$pid/stat")))
  done
  echo $total
}
RUN=${RUN_SECONDS:-10}
drained() {  # WORKER=1: wait until the worker has delivered everything, so each run starts from an empty outbox
  [ "${WORKER:-0}" = 1 ] || return 0
  python3 - "$work/t.db" <<'PY'
import sqlite3, sys, time
deadline = time.monotonic() + 600
while time.monotonic() < deadline:
    db = sqlite3.connect(sys.argv[1], timeout=30)
    pending = db.execute("select count(*) from outbox where status = 'pending'").fetchone()[0]
    db.close()
    if pending == 0:
        break
    time.sleep(1)
PY
  sleep 1
}
run() {  # run LABEL KEY: $RUN s of wrk; prints "tickets/s cpu-ms-per-ticket" to the log
  local before after rate ms
  before=$(cpu)
  rate=$(API_KEY=$2 wrk -t2 -c32 -d"${RUN}s" -s "$LUA" "http://127.0.0.1:$PORT" | awk '/tickets\/s/ {print $2}')
  after=$(cpu)
  ms=$(awk -v c=$((after - before)) -v t="$ticks" -v r="$rate" -v d="$RUN" 'BEGIN {printf "%.3f", c / t * 1000 / (r * d)}')
  echo "$1 tickets/s: $rate  server CPU: $ms ms/ticket"
  echo "$rate $ms" >>"$work/$1"
  echo "$1 $rate $ms" >>"$work/sequence"
  drained
}
for k in "$plain" "$hooked"; do API_KEY=$k wrk -t2 -c32 -d3s -s "$LUA" "http://127.0.0.1:$PORT" >/dev/null; done
drained
sleep 2
for round in $(seq "${1:-3}"); do
  if [ $((round % 2)) = 1 ]; then run none "$plain"; run slack+webhook "$hooked"
  else run slack+webhook "$hooked"; run none "$plain"; fi
done
median() { sort -n | awk '{v[NR] = $1} END {print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2}'; }
r0=$(cut -d' ' -f1 "$work/none" | median); r1=$(cut -d' ' -f1 "$work/slack+webhook" | median)
c0=$(cut -d' ' -f2 "$work/none" | median); c1=$(cut -d' ' -f2 "$work/slack+webhook" | median)
echo "medians: no destination $r0 tickets/s, $c0 ms/ticket; Slack + webhook $r1 tickets/s, $c1 ms/ticket"
awk -v r0="$r0" -v r1="$r1" -v c0="$c0" -v c1="$c1" \
  'BEGIN {printf "cost of notifications: %.0f%% of tickets/s, %+.0f%% CPU per ticket\n", (1 - r1 / r0) * 100, (c1 / c0 - 1) * 100}'
# Each round's two runs are back to back: their ratio is the least disturbed by the machine's
# drift (the database grows, other jobs come and go). The median of those ratios, and their range:
awk '{lab[NR] = $1; rate[NR] = $2; cpu[NR] = $3}
  END {for (i = 1; i < NR; i += 2) {a = (lab[i] == "none") ? i : i + 1; b = (a == i) ? i + 1 : i;
         n++; t[n] = (1 - rate[b] / rate[a]) * 100; c[n] = (cpu[b] / cpu[a] - 1) * 100}
       asort(t); asort(c); m = (n % 2) ? (n + 1) / 2 : n / 2;
       tm = (n % 2) ? t[m] : (t[m] + t[m + 1]) / 2; cm = (n % 2) ? c[m] : (c[m] + c[m + 1]) / 2;
       printf "paired by round (median of %d, range): %.0f%% of tickets/s (%.0f to %.0f), %+.0f%% CPU per ticket (%+.0f to %+.0f)\n",
         n, tm, t[1], t[n], cm, c[1], c[n]}' "$work/sequence"
