#!/usr/bin/env bash
# What notifications cost ticket creation in `telemetron serve` with its in-process delivery worker
# on, in CPU instructions: valgrind's callgrind counts instructions, not seconds, so the figure does
# not move with whatever else the machine is doing (the wall-clock benches here swing by +-25%).
#
# The server runs under callgrind (SQLite, TELEMETRON_RUN_WORKER=true), hey sends N1 then, in
# another run, N2 createTicket requests (8 at a time) for an organization without a destination or
# with Slack + a webhook at a local receiver; the server is stopped right after. The difference
# between the two sizes takes out start-up and shutdown:
#   instructions per ticket = (I(N2) - I(N1)) / (N2 - N1).
# Under callgrind the server is ~50x slower, so it is saturated throughout, as in a burst. What
# depends on seconds is 50x stretched, so the burst is taken as one shorter than the worker's hold
# (outbox/worker.py: nothing is delivered once the load shows; HOLD, default longer than the run):
# after that hold, a sustained overload also pays ~1.3 ms of CPU per delivery at 20 a second
# (bench/notification_worker.py --busy-rate 20), which this does not count.
#   bash bench/notification_instructions_server.sh        # ~15 min
set -euo pipefail
cd "$(dirname "$0")/.."
T=$PWD/.venv/bin/telemetron
N1=${N1:-300} N2=${N2:-1300} PORT=${PORT:-8869} RP=${RP:-8870}
python3 bench/ok_receiver.py "$RP" & receiver=$!
trap 'kill $receiver 2>/dev/null || true' EXIT
key() { python3 -c "import json,sys; print(json.load(sys.stdin)['$1'])"; }
count() {  # count hooked|plain N: total instructions of a server that made N tickets
  local work out k j org server
  work=$(mktemp -d); out="$work/cg.out"
  export TELEMETRON_DATABASE_URL="sqlite:///$work/t.db" TELEMETRON_LOG_LEVEL=warning TELEMETRON_RUN_WORKER=${RUN_WORKER:-true} \
    TELEMETRON_OUTBOX_BUSY_HOLD_SECONDS=${HOLD:-100000}
  "$T" db upgrade >/dev/null
  j=$("$T" org create Bench --category Connectivity --json); k=$(echo "$j" | key apiKey); org=$(echo "$j" | key organizationId)
  if [ "$1" = hooked ]; then
    "$T" webhook add --org "$org" "http://127.0.0.1:$RP/hook" >/dev/null
    "$T" slack set --org "$org" --webhook-url "http://127.0.0.1:$RP/slack" >/dev/null
  fi
  valgrind --tool=callgrind --callgrind-out-file="$out" "$T" serve --port "$PORT" >/dev/null 2>&1 & server=$!
  for _ in $(seq 600); do curl -sf "http://127.0.0.1:$PORT/healthz" >/dev/null && break; sleep 0.5; done
  hey -n "$2" -c 8 -m POST -T application/json -H "x-api-key: $k" \
    -d '{"title":"Device not connecting to WiFi","description":"Customer reports their device fails to connect after firmware update v2.3.1","priority":"high","customerEmail":"customer1@example.com","category":"Connectivity"}' \
    "http://127.0.0.1:$PORT/api/ext-v1/ticket/createTicket" | awk '/\[200\]/ {ok = $2} END {if (ok == "") exit 1}'
  kill -TERM "$server"; wait "$server" || true
  awk '/^summary:/ {print $2}' "$out"
  rm -rf "$work"
}
for kind in ${KINDS:-plain hooked}; do
  a=$(count "$kind" "$N1"); b=$(count "$kind" "$N2")
  echo "$kind $(( (b - a) / (N2 - N1) ))" | tee -a "/tmp/notification_instructions_server.$$"
done
awk 'NR == 1 {a = $2} NR == 2 {printf "notifications: %+.1f%% instructions per ticket (no destination %d, Slack + webhook %d)\n", ($2 / a - 1) * 100, a, $2}' \
  "/tmp/notification_instructions_server.$$"
rm -f "/tmp/notification_instructions_server.$$"
