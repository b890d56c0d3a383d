#!/usr/bin/env bash
# When the in-process worker delivers during a 5 s wrk burst (SQLite, Slack + webhook to a local
# receiver), counted from outbox_attempts in 0.25 s buckets from a drained outbox: how fast the
# worker yields to the requests (its load window, outbox/worker.py).
#   bash bench/notification_burst.sh
set -euo pipefail
M=$(cd "$(dirname "$0")/.." && pwd)
T="$M/.venv/bin/telemetron"; LUA="$M/bench/create_ticket.lua"; PORT=8779; RP=8780
work=$(mktemp -d); trap 'kill $server $receiver 2>/dev/null || true; rm -rf "$work"' EXIT
export TELEMETRON_DATABASE_URL="sqlite:///$work/t.db" TELEMETRON_LOG_LEVEL=warning TELEMETRON_RUN_WORKER=true
python3 "$(dirname "$0")/ok_receiver.py" "$RP" & receiver=$!
key() { python3 -c "import json,sys; print(json.load(sys.stdin)['$1'])"; }
"$T" db upgrade >/dev/null
j=$("$T" org create Hooked --category Connectivity --json); k=$(echo "$j" | key apiKey); org=$(echo "$j" | key organizationId)
"$T" webhook add --org "$org" "http://127.0.0.1:$RP/hook" >/dev/null
"$T" slack set --org "$org" --webhook-url "http://127.0.0.1:$RP/slack" >/dev/null
"$T" serve --port "$PORT" >/dev/null 2>&1 & server=$!
for _ in $(seq 150); do curl -sf "http://127.0.0.1:$PORT/healthz" >/dev/null && break; sleep 0.2; done
API_KEY=$k wrk -t2 -c32 -d2s -s "$LUA" "http://127.0.0.1:$PORT" >/dev/null
python3 - "$work/t.db" <<'PY'
import sqlite3, sys, time
while True:
    db = sqlite3.connect(sys.argv[1], timeout=30)
    n = db.execute("select count(*) from outbox where status = 'pending'").fetchone()[0]; db.close()
    if n == 0: break
    time.sleep(1)
PY
sleep 2
start=$(date -u +%s.%N)
API_KEY=$k wrk -t2 -c32 -d5s -s "$LUA" "http://127.0.0.1:$PORT" | grep tickets/s
python3 - "$work/t.db" "$start" <<'PY'
import sqlite3, sys, datetime
db = sqlite3.connect(sys.argv[1]); start = float(sys.argv[2])
rows = db.execute("select started_at from outbox_attempts").fetchall()
b = {}
for (s,) in rows:
    t = datetime.datetime.fromisoformat(s).replace(tzinfo=datetime.timezone.utc).timestamp() - start
    if -0.5 < t < 5.5:
        b[int((t + 0.5) // 0.25)] = b.get(int((t + 0.5) // 0.25), 0) + 1
print("deliveries by 0.25 s from the burst's start:", [(k * 0.25 - 0.5, v) for k, v in sorted(b.items())])
print("total in the run:", sum(b.values()))
PY
