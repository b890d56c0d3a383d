#!/usr/bin/env bash
# What notifications cost on the request path: createTicket for an organization with no
# destination vs one with Slack and a webhook, alternated on one server, delivery worker off
# (messages stay queued), SQLite. Usage: bash bench/notification_cost.sh [rounds]
set -euo pipefail
T="$(cd "$(dirname "$0")/.." && pwd)/.venv/bin/telemetron"
LUA="$(cd "$(dirname "$0")" && pwd)/create_ticket.lua"
work=$(mktemp -d)
trap 'kill $server 2>/dev/null || true; rm -rf "$work"' EXIT
export TELEMETRON_DATABASE_URL="sqlite:///$work/t.db" TELEMETRON_LOG_LEVEL=warning TELEMETRON_RUN_WORKER=false
key() { python3 -c "import json,sys; print(json.load(sys.stdin)['$1'])"; }
"$T" db upgrade >/dev/null
plain=$("$T" org create Plain --category Connectivity --json | key apiKey)
hooked_json=$("$T" org create Hooked --category Connectivity --json)
hooked=$(echo "$hooked_json" | key apiKey)
org=$(echo "$hooked_json" | key organizationId)
"$T" webhook add --org "$org" http://127.0.0.1:9/hook >/dev/null
"$T" slack set --org "$org" --webhook-url http://127.0.0.1:9/slack >/dev/null
"$T" serve --port 8769 >/dev/null 2>&1 & server=$!
sleep 3
for k in "$plain" "$hooked"; do API_KEY=$k wrk -t2 -c32 -d3s -s "$LUA" http://127.0.0.1:8769 >/dev/null; done
for _ in $(seq "${1:-3}"); do
  echo "no destination:    $(API_KEY=$plain wrk -t2 -c32 -d10s -s "$LUA" http://127.0.0.1:8769 | grep tickets)"
  echo "Slack and webhook: $(API_KEY=$hooked wrk -t2 -c32 -d10s -s "$LUA" http://127.0.0.1:8769 | grep tickets)"
done
