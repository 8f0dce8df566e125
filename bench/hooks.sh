#!/usr/bin/env bash
# Vendor-hook mapping throughput (bench/RESULTS.md): signed Stripe
# customer.subscription.updated deliveries to POST /v1/hooks/stripe against the same
# canonical contract events to POST /v1/events, one per request over keep-alive
# connections, alternated in one run (hooks, events, hooks, events, ...) so both see the
# same machine state. The Stripe customers map by `vendor_ids: true`; the second half
# repeats with the mapping from the external-ids index instead (account events with
# external_ids sent first).
# Usage: bench/hooks.sh BUILD_DIR [ROUNDS] [EVENTS] [CONNECTIONS]   (a -DCMAKE_BUILD_TYPE=Release build)
set -euo pipefail
build=$(cd "$1" && pwd)
rounds=${2:-3}
events=${3:-40000}
connections=${4:-8}
bin=$build/redflag
loadgen=$build/bench/redflag_loadgen
secret=whsec_bench_4eC39HqLyjWDarjtT1zdp7dc
accounts=10000
work=$(mktemp -d /tmp/redflag-bench-hooks-XXXX)
port=$(/usr/bin/python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
trap 'kill $(cat "$work/pid" 2>/dev/null) 2>/dev/null || true; rm -rf "$work"' EXIT

start() {  # $1: extra stripe adapter keys
  rm -rf "$work/data"
  cat >"$work/redflag.yaml" <<YAML
listen: 127.0.0.1:$port
storage: {path: $work/data, sync: false}
engine: {threads: 2}
log: {level: warn}
adapters:
  stripe: {secret: $secret, products: {prod_analytics: analytics}$1}
YAML
  "$bin" serve --config "$work/redflag.yaml" >>"$work/log" 2>&1 &
  echo $! >"$work/pid"
  until curl -fs "http://127.0.0.1:$port/readyz" >/dev/null 2>&1; do sleep 0.01; done
}
stop() { kill -TERM "$(cat "$work/pid")"; while kill -0 "$(cat "$work/pid")" 2>/dev/null; do sleep 0.05; done; }

run() {  # $1: label
  for r in $(seq 1 "$rounds"); do
    echo "-- $1 round $r: hooks"
    "$loadgen" --port "$port" --mode stripe --secret "$secret" --connections "$connections" --events "$events" \
      --accounts "$accounts" --run "h$r" | tail -3
    echo "-- $1 round $r: events"
    "$loadgen" --port "$port" --mode contract --connections "$connections" --events "$events" \
      --accounts "$accounts" --run "e$r" | tail -3
  done
}

echo "== machine: $(nproc) cores, $(free -g | awk '/Mem:/{print $2}') GiB; $(uname -r)"
echo "== load average: $(cut -d" " -f1-3 /proc/loadavg)"
echo "== $events events a pass, $connections connections, $accounts accounts, $rounds rounds"
start ", vendor_ids: true"
run "vendor_ids"
stop

start ""
# Map every customer through the index: account events with external_ids, in batches.
/usr/bin/python3 - "$port" "$accounts" <<'PY'
import http.client, json, sys
port, n = int(sys.argv[1]), int(sys.argv[2])
c = http.client.HTTPConnection("127.0.0.1", port)
for first in range(0, n, 1000):
    body = "".join(json.dumps({"type": "account", "account": "cus_%06d" % i, "id": "map-%d" % i,
                               "external_ids": {"stripe": "cus_%06d" % i}}) + "\n" for i in range(first, min(n, first + 1000)))
    c.request("POST", "/v1/events", body, {"Content-Type": "application/x-ndjson"})
    r = c.getresponse(); r.read()
    assert r.status == 202, r.status
PY
run "external_ids"
echo "unmatched waiting: $(curl -fs "http://127.0.0.1:$port/metrics" | awk '/^redflag_hook_unmatched_events /{print $2}')"
stop
