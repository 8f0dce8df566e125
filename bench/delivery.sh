#!/usr/bin/env bash
# The delivery benchmarks of bench/RESULTS.md, against a Release build:
#   1. transition → delivered: ALERTS alerts (one urgent ticket each, on distinct
#      accounts, RATE a second) notified to a `format: redflag` webhook whose receiver
#      (a Python stand-in on loopback) stamps each arrival; delay = arrival − the
#      notification's `at` (the transition instant, wall clock); p50/p90/p99/max. The
#      service's own redflag_notification_delay_seconds is printed beside it.
#   1b. the same at the Slack Web API stand-in (tests/integration/slack_standin.py):
#      SLACK_ALERTS alerts at SLACK_RATE a second (≤ 1: Slack's 1 message/s pacing per
#      channel would otherwise queue them) to a rule notifying SLACK_CHANNELS `type: slack`
#      channels, so each alert gives one sample per channel; delay = arrival at the
#      stand-in − the message's "Firing since" (the transition instant).
#   2. ingest with a channel black-holed: the loadgen's batch run (EVENTS usage events of
#      100,000 accounts) under a rule that fires and resolves on about 10 % of the events,
#      notifying: none (no channel), healthy (the receiver above), blackholed (a webhook
#      that accepts connections and never answers: every attempt waits for the sender's
#      15 s timeout). RUNS lists them in order (default "none blackholed none blackholed":
#      alternating cancels drift); each waits until the 1-minute load average is below
#      MAX_LOAD (default 1.5) and prints `uptime`. events/s and RSS of each.
#   ONLY=... picks parts: latency slack ingest (default all three).
# Usage: bench/delivery.sh BUILD_DIR        (e.g. build/release, -DCMAKE_BUILD_TYPE=Release)
#        ALERTS=1000 RATE=50 EVENTS=1000000 bench/delivery.sh build/release
set -euo pipefail
build=$(cd "$1" && pwd)
bin=$build/redflag
loadgen=$build/bench/redflag_loadgen
alerts=${ALERTS:-1000}
rate=${RATE:-50}
events=${EVENTS:-1000000}
slack_alerts=${SLACK_ALERTS:-120}
slack_rate=${SLACK_RATE:-0.9}
slack_channels=${SLACK_CHANNELS:-4}
max_load=${MAX_LOAD:-1.5}
source_dir=$(cd "$(dirname "$0")/.." && pwd)
py=/usr/bin/python3
work=$(mktemp -d /tmp/redflag-delivery-bench-XXXX)
free_port() { $py -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
cleanup() {
  for f in "$work"/*.pid; do [ -f "$f" ] && kill "$(cat "$f")" 2>/dev/null || true; done
  rm -rf "$work"
}
trap cleanup EXIT

start_service() {  # $1: config file; waits for readiness
  "$bin" serve --config "$1" >>"$work/log" 2>&1 &
  echo $! >"$work/redflag.pid"
  until curl -fs "http://127.0.0.1:$port/readyz" >/dev/null 2>&1; do sleep 0.01; done
}
stop_service() {
  local pid; pid=$(cat "$work/redflag.pid")
  kill -TERM "$pid"; while kill -0 "$pid" 2>/dev/null; do sleep 0.05; done
  rm -f "$work/redflag.pid"
}

echo "== machine: $(nproc) cores, $(free -g | awk '/Mem:/{print $2}') GiB; $(uname -r); $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2)"
want() { [ -z "${ONLY:-}" ] || [[ " $ONLY " == *" $1 "* ]]; }
wait_quiet() {  # until the 1-minute load average is below max_load (other builds share the machine)
  for _ in $(seq 30); do
    awk -v m="$max_load" '{exit !($1 < m)}' /proc/loadavg && break
    echo "   (load $(cut -d' ' -f1 /proc/loadavg) ≥ $max_load: waiting 60 s)"; sleep 60
  done
  echo "   uptime: $(uptime)"
}

cat >"$work/receiver.py" <<'PY'
# Records the arrival (wall clock) and `at` of every webhook notification.
import http.server, json, sys, time
out = open(sys.argv[2], "a", buffering=1)
class H(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    def do_POST(self):
        body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
        now = time.time()
        n = json.loads(body)
        out.write("%s %.6f %s\n" % (n["idempotency_key"], now, n["at"]))
        self.send_response(200); self.send_header("Content-Length", "0"); self.end_headers()
    def log_message(self, *a): pass
http.server.ThreadingHTTPServer(("127.0.0.1", int(sys.argv[1])), H).serve_forever()
PY

# ---------------------------------------------------------------- 1. transition → delivered
if want latency; then
wait_quiet
port=$(free_port)
sink=$(free_port)
$py "$work/receiver.py" "$sink" "$work/arrivals" & echo $! >"$work/receiver.pid"
mkdir -p "$work/rules1"
cat >"$work/rules1/urgent.rules" <<'RULES'
rule urgent_ticket {
  when     count(tickets where priority == "urgent") > 0
  severity high
  notify   sink
}
RULES
cat >"$work/latency.yaml" <<YAML
listen: 127.0.0.1:$port
storage: {path: $work/data1}
rules: {paths: [$work/rules1]}
engine: {threads: 2}
log: {level: warn}
channels:
  sink: {type: webhook, url: "http://127.0.0.1:$sink/hook", format: redflag}
YAML
start_service "$work/latency.yaml"
echo "== 1. transition → delivered: $alerts alerts at $rate/s to a webhook receiver"
$py - "$port" "$alerts" "$rate" <<'PY'
import datetime, http.client, json, sys, time
port, alerts, rate = int(sys.argv[1]), int(sys.argv[2]), float(sys.argv[3])
conn = http.client.HTTPConnection("127.0.0.1", port)
start = time.time()
for i in range(alerts):
    at = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    body = json.dumps({"type": "ticket", "account": "lat-%05d" % i, "ticket_id": "t", "status": "open",
                       "priority": "urgent", "at": at})
    conn.request("POST", "/v1/events", body, {"Content-Type": "application/json"})
    r = conn.getresponse(); r.read()
    assert r.status == 202, r.status
    delay = start + (i + 1) / rate - time.time()
    if delay > 0: time.sleep(delay)
PY
for _ in $(seq 100); do [ "$(wc -l <"$work/arrivals")" -ge "$alerts" ] && break; sleep 0.1; done
$py - "$work/arrivals" "$alerts" <<'PY'
import datetime, sys
rows = [l.split() for l in open(sys.argv[1])]
def parse(t):
    return datetime.datetime.strptime(t.replace("Z", "+0000"), "%Y-%m-%dT%H:%M:%S.%f%z" if "." in t else "%Y-%m-%dT%H:%M:%S%z").timestamp()
d = sorted((float(arrival) - parse(at)) * 1000 for _, arrival, at in rows)
pct = lambda p: d[min(len(d) - 1, int(p / 100 * len(d)))]
print("delivered %d of %s; transition → arrival ms: p50 %.1f  p90 %.1f  p99 %.1f  max %.1f" %
      (len(d), sys.argv[2], pct(50), pct(90), pct(99), d[-1]))
PY
curl -s "http://127.0.0.1:$port/metrics" | grep -E '^redflag_notification_delay_seconds_(bucket\{channel="sink",le="(0.1|0.25)"\}|count)|^redflag_notifications_total\{channel="sink"' || true
stop_service
kill "$(cat "$work/receiver.pid")"; rm -f "$work/receiver.pid"
fi

# ---------------------------------------------------------------- 1b. at the Slack stand-in
if want slack; then
wait_quiet
port=$(free_port)
slack_port=$(free_port)
cat >"$work/standin.py" <<'PY'
# The Slack stand-in of the integration tests, stamping each chat.postMessage's arrival
# with the message's channel and "Firing since" (the transition instant).
import json, sys, time, signal
sys.path.insert(0, sys.argv[1] + "/tests/integration")
from slack_standin import SlackStandIn
out = open(sys.argv[3], "a", buffering=1)
original = SlackStandIn._post_message
def stamped(self, request, path, body):
    now = time.time()
    try:
        m = json.loads(body)
        for block in m.get("blocks", []):
            for f in block.get("fields", []):
                if f.get("text", "").startswith("*Firing since*\n"):
                    out.write("%s %.6f %s\n" % (m["channel"], now, f["text"].split("\n", 1)[1]))
    except Exception:
        pass
    return original(self, request, path, body)
SlackStandIn._post_message = stamped
slack = SlackStandIn(token="xoxb-bench", port=int(sys.argv[2])).start()
signal.sigwait([signal.SIGTERM, signal.SIGINT])
PY
$py "$work/standin.py" "$source_dir" "$slack_port" "$work/slack_arrivals" & echo $! >"$work/standin.pid"
until curl -s -o /dev/null "http://127.0.0.1:$slack_port/api/users.lookupByEmail"; do sleep 0.05; done
mkdir -p "$work/rules3"
names=$(seq -s, -f 'c%g' 1 "$slack_channels" | sed 's/,/, /g')
cat >"$work/rules3/urgent.rules" <<RULES
rule urgent_ticket {
  when     count(tickets where priority == "urgent") > 0
  severity high
  notify   $names
}
RULES
{
  echo "listen: 127.0.0.1:$port"
  echo "storage: {path: $work/data3}"
  echo "rules: {paths: [$work/rules3]}"
  echo "engine: {threads: 2}"
  echo "log: {level: warn}"
  echo "channels:"
  for i in $(seq "$slack_channels"); do
    echo "  c$i: {type: slack, token: xoxb-bench, channel: \"#bench-$i\", api_url: \"http://127.0.0.1:$slack_port/api\"}"
  done
} >"$work/slack.yaml"
start_service "$work/slack.yaml"
echo "== 1b. transition → delivered at the Slack stand-in: $slack_alerts alerts at $slack_rate/s, $slack_channels channels"
$py - "$port" "$slack_alerts" "$slack_rate" <<'PY'
import datetime, http.client, json, sys, time
port, alerts, rate = int(sys.argv[1]), int(sys.argv[2]), float(sys.argv[3])
conn = http.client.HTTPConnection("127.0.0.1", port)
start = time.time()
for i in range(alerts):
    at = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    body = json.dumps({"type": "ticket", "account": "slk-%05d" % i, "ticket_id": "t", "status": "open",
                       "priority": "urgent", "at": at})
    conn.request("POST", "/v1/events", body, {"Content-Type": "application/json"})
    r = conn.getresponse(); r.read()
    assert r.status == 202, r.status
    delay = start + (i + 1) / rate - time.time()
    if delay > 0: time.sleep(delay)
PY
want_msgs=$((slack_alerts * slack_channels))
for _ in $(seq 100); do [ "$(wc -l <"$work/slack_arrivals")" -ge "$want_msgs" ] && break; sleep 0.1; done
$py - "$work/slack_arrivals" "$want_msgs" <<'PY'
import datetime, sys
rows = [l.split() for l in open(sys.argv[1])]
def parse(t):
    return datetime.datetime.strptime(t.replace("Z", "+0000"), "%Y-%m-%dT%H:%M:%S.%f%z" if "." in t else "%Y-%m-%dT%H:%M:%S%z").timestamp()
d = sorted((float(arrival) - parse(at)) * 1000 for _, arrival, at in rows)
pct = lambda p: d[min(len(d) - 1, int(p / 100 * len(d)))]
print("delivered %d of %s messages; transition → arrival at the stand-in, ms: p50 %.1f  p90 %.1f  p99 %.1f  max %.1f" %
      (len(d), sys.argv[2], pct(50), pct(90), pct(99), d[-1]))
PY
stop_service
kill "$(cat "$work/standin.pid")"; rm -f "$work/standin.pid"
fi

# ---------------------------------------------------------------- 2. ingest, channel black-holed
want ingest || exit 0
hole=$(free_port)
cat >"$work/blackhole.py" <<'PY'
# Accepts connections and never answers: a peer that hangs.
import socket, sys, threading, time
s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("127.0.0.1", int(sys.argv[1]))); s.listen(1024)
held = []
while True:
    c, _ = s.accept(); held.append(c)
PY
$py "$work/blackhole.py" "$hole" & echo $! >"$work/blackhole.pid"
ok=$(free_port)
$py "$work/receiver.py" "$ok" "$work/arrivals2" & echo $! >"$work/receiver2.pid"

ingest_run() {  # $1: label, $2: notify line or empty, $3: channels block or empty
  port=$(free_port)
  rm -rf "$work/data2" "$work/rules2"; mkdir -p "$work/rules2"
  cat >"$work/rules2/flap.rules" <<RULES
rule low_usage {
  when     last(usage.active_users) < 19
  severity medium
  $2
}
RULES
  cat >"$work/ingest.yaml" <<YAML
listen: 127.0.0.1:$port
storage: {path: $work/data2}
rules: {paths: [$work/rules2]}
engine: {threads: 2}
log: {level: error}
$3
YAML
  wait_quiet
  start_service "$work/ingest.yaml"
  echo "-- $1"
  "$loadgen" --port "$port" --mode batch --batch 1000 --connections 4 --events "$events" --accounts 100000 --per-account 30 --run "$1" | grep -E "events/s|latency|errors" || true
  curl -s "http://127.0.0.1:$port/metrics" | grep -E '^redflag_alerts_fired_total|^redflag_outbox_pending' || true
  echo "RSS: $(( $(ps -o rss= -p "$(cat "$work/redflag.pid")") / 1024 )) MiB"
  stop_service
}
echo "== 2. ingest of $events events, a rule flapping on ~10 % of them"
for run in ${RUNS:-none blackholed none blackholed}; do
  case $run in
    none) ingest_run none "" "" ;;
    healthy) ingest_run healthy "notify   ok" "channels:
  ok: {type: webhook, url: \"http://127.0.0.1:$ok/hook\", format: redflag}" ;;
    blackholed) ingest_run blackholed "notify   hole" "channels:
  hole: {type: webhook, url: \"http://127.0.0.1:$hole/hook\", format: redflag}" ;;
  esac
done
grep -iE "critical" "$work/log" | head -5 || true
