#!/usr/bin/env bash
# The ingest benchmarks of bench/RESULTS.md, in one run against a Release build:
#   1. NDJSON batches of 1,000 over keep-alive, sync off: 100,000 accounts × 30 events
#      (3 million events), then the service's RSS;
#   2. one event per request over 32 keep-alive connections, sync off;
#   3. restart to ready with those 3 million events stored (after SIGTERM, and after kill -9);
#   4. one event per request over 32 connections with storage.sync: true.
# Usage: bench/ingest.sh BUILD_DIR [RULES_DIR]     (BUILD_DIR from a -DCMAKE_BUILD_TYPE=Release build)
#        MEMTABLE=64MiB bench/ingest.sh ...         (storage.memtable; default: the service's default)
set -euo pipefail
build=$(cd "$1" && pwd)
rules=${2:-$(cd "$(dirname "$0")/../rules" && pwd)}
bin=$build/redflag
loadgen=$build/bench/redflag_loadgen
work=$(mktemp -d /tmp/redflag-bench-XXXX)
port=$(/usr/bin/python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
trap 'kill $(cat "$work/pid" 2>/dev/null) 2>/dev/null || true; rm -rf "$work"' EXIT

write_config() {  # $1: sync true|false
  cat >"$work/redflag.yaml" <<YAML
listen: 127.0.0.1:$port
storage: {path: $work/data, sync: $1${MEMTABLE:+, memtable: $MEMTABLE}}
rules: {paths: [$rules]}
engine: {threads: 2}
log: {level: warn}
YAML
}

start() {
  local t0 t1
  t0=$(date +%s.%N)
  "$bin" serve --config "$work/redflag.yaml" >>"$work/log" 2>&1 &
  echo $! >"$work/pid"
  until curl -fs "http://127.0.0.1:$port/readyz" >/dev/null 2>&1; do sleep 0.01; done
  t1=$(date +%s.%N)
  echo "ready after $(awk "BEGIN{printf \"%.3f\", $t1 - $t0}") s"
}

rss_mib() { echo "$(( $(ps -o rss= -p "$(cat "$work/pid")") / 1024 )) MiB"; }

echo "== machine: $(nproc) cores, $(free -g | awk '/Mem:/{print $2}') GiB; $(uname -r)"
write_config false
start
echo "== 1. batches of 1000, 4 connections, 100000 accounts x 30 events"
"$loadgen" --port "$port" --mode batch --batch 1000 --connections 4 --events 3000000 --accounts 100000 --per-account 30 --run b
sleep 2
echo "RSS after 3,000,000 events of 100,000 accounts: $(rss_mib)"

echo "== 2. one event per request, 32 connections, sync off"
"$loadgen" --port "$port" --mode single --connections 32 --events 200000 --accounts 100000 --run s
echo "RSS now: $(rss_mib)"

echo "== 3a. restart to ready after SIGTERM, $(du -sh "$work/data" | cut -f1) on disk"
kill -TERM "$(cat "$work/pid")"; while kill -0 "$(cat "$work/pid")" 2>/dev/null; do sleep 0.05; done
start
echo "RSS after restart: $(rss_mib)"
echo "== 3b. restart to ready after kill -9 right after a burst"
"$loadgen" --port "$port" --mode batch --batch 1000 --connections 2 --events 100000 --accounts 100000 --run k >/dev/null
kill -9 "$(cat "$work/pid")"; sleep 0.2
start

echo "== 4. one event per request, 32 connections, storage.sync: true"
kill -TERM "$(cat "$work/pid")"; while kill -0 "$(cat "$work/pid")" 2>/dev/null; do sleep 0.05; done
write_config true
start >/dev/null
"$loadgen" --port "$port" --mode single --connections 32 --events 50000 --accounts 100000 --run y
kill -TERM "$(cat "$work/pid")"; while kill -0 "$(cat "$work/pid")" 2>/dev/null; do sleep 0.05; done
grep -iE "error|critical" "$work/log" | head -5 || true
