#!/usr/bin/env bash
# From a fresh Debian 12 machine to a running Redflag with a world in it:
#   1. installs the Debian packages it needs (deploy/install-deps.sh, idempotent);
#   2. builds the Release binary;
#   3. generates the example world (examples/generate: accounts, usage, tickets, NPS,
#      contracts, some drifting toward churn) ending today;
#   4. starts `redflag serve` on its embedded default (127.0.0.1:8080, ./data, ./rules;
#      storage.retention raised to 600d to hold the world's 18 months) in the background
#      and feeds it the world through POST /v1/events;
#   5. tells you where to look.
# Run it again to start over with fresh state. Stop the service with:
#   kill "$(cat redflag.pid)"
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
jobs=${JOBS:-2}
port=8080

deploy/install-deps.sh build

echo "== building (Release)"
cmake -S . -B build/release -G Ninja -DCMAKE_BUILD_TYPE=Release -DREDFLAG_BUILD_TESTS=OFF -DREDFLAG_BUILD_BENCH=OFF >/dev/null
cmake --build build/release -j"$jobs" --target redflag
bin=build/release/redflag

if [[ -f redflag.pid ]] && kill -0 "$(cat redflag.pid)" 2>/dev/null; then
  echo "== stopping the previous quickstart service"
  kill "$(cat redflag.pid)"
  while kill -0 "$(cat redflag.pid)" 2>/dev/null; do sleep 0.2; done
fi
rm -rf data redflag.pid

world=build/world
accounts=${ACCOUNTS:-500}
start=$(date -u -d "-18 months" +%Y-%m-%d)   # so that the world ends today
echo "== generating the example world: $accounts accounts, 18 months from $start"
examples/generate --seed 42 --accounts "$accounts" --months 18 --start "$start" --out "$world"

# The embedded default, but with a retention that holds the 18 months (live ingest
# refuses events older than storage.retention, 400d by default), and the example config's
# Slack channels: the shipped red flags go to #cs-red-flags (team leads' to #cs-team-leads)
# when SLACK_BOT_TOKEN is set; without it those channels are off.
config=build/quickstart.yaml
{
  printf 'storage: {retention: 600d}\n'
  sed -n '/^channels:/,/^# More channels/p' examples/redflag.yaml | sed '$d'
} >"$config"
echo "== starting redflag serve on 127.0.0.1:$port (embedded default, storage.retention 600d; log in redflag.log)"
nohup "$bin" serve --config "$config" >redflag.log 2>&1 &
echo $! >redflag.pid
for _ in $(seq 1 100); do
  if curl -fs "http://127.0.0.1:$port/readyz" >/dev/null; then break; fi
  if ! kill -0 "$(cat redflag.pid)" 2>/dev/null; then
    echo "redflag exited; its log:" >&2
    cat redflag.log >&2
    exit 1
  fi
  sleep 0.1
done
curl -fs "http://127.0.0.1:$port/readyz" >/dev/null

echo "== feeding $(wc -l <"$world/events.ndjson") events"
chunks=$(mktemp -d)
split -l 5000 -d -a 4 "$world/events.ndjson" "$chunks/part-"
accepted=0
for part in "$chunks"/part-*; do
  answer=$(curl -fsS -X POST -H 'Content-Type: application/x-ndjson' --data-binary @"$part" \
    "http://127.0.0.1:$port/v1/events")
  n=$(sed -n 's/.*"accepted":\([0-9]*\).*/\1/p' <<<"$answer")
  accepted=$((accepted + ${n:-0}))
done
rm -rf "$chunks"
# The engine evaluates on its tick too; give it a moment to settle the latest instant.
sleep 1

example=$(head -1 "$world/events.ndjson" | sed -n 's/.*"account":"\([^"]*\)".*/\1/p')
if [[ -n "${SLACK_BOT_TOKEN:-}" ]]; then slack="SLACK_BOT_TOKEN is set: the red flags went to Slack"
else slack="SLACK_BOT_TOKEN is not set: the Slack channels are off (alerts in the log, console and API)"; fi
firing=$(curl -fs "http://127.0.0.1:$port/v1/alerts?state=firing" | grep -o '"id"' | wc -l || true)
cat <<MSG

Redflag is running (pid $(cat redflag.pid)) with $accepted events from $world/events.ndjson.

  Web console:          http://127.0.0.1:$port/ui/   (inbox, accounts, rule playground)
  Firing alerts:        curl -s 'http://127.0.0.1:$port/v1/alerts?state=firing'   ($firing now)
  One account:          curl -s http://127.0.0.1:$port/v1/accounts/$example
  Prometheus metrics:   curl -s http://127.0.0.1:$port/metrics
  Health:               curl -s http://127.0.0.1:$port/readyz
  Log:                  tail -f redflag.log
  Prometheus + Grafana: deploy/prometheus/prometheus.yml scrapes 127.0.0.1:8080;
                        deploy/grafana/ provisions the datasource and the CS board
  Reload rules:         edit rules/*.rules, then kill -HUP \$(cat redflag.pid)  or  curl -X POST http://127.0.0.1:$port/-/reload
  Stop:                 kill \$(cat redflag.pid)
  Red flags in Slack:   export SLACK_BOT_TOKEN=xoxb-... and run this again (the bot invited to #cs-red-flags);
                        $slack

The README walks through what fired and why.
MSG
