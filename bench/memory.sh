#!/usr/bin/env bash
# The memory target of bench/RESULTS.md: the service's RSS after ingesting 100,000
# accounts x 30 usage events (3 million events, NDJSON batches of 1,000 over 4 keep-alive
# connections, storage.sync false), with the shipped rules and engine.threads 2. Prints
# the load generator's summary (events/s), the RSS 2 s after the load, /proc smaps_rollup's
# Rss and Anonymous lines, the RSS 5 s after, and the RSS after glibc's malloc_trim(0)
# (called in the process with gdb, when gdb is installed: what the heap holds free but not
# returned to the system).
#
# Usage: bench/memory.sh BUILD_DIR [RULES_DIR]          (BUILD_DIR from a -DCMAKE_BUILD_TYPE=Release build
#                                                       with -DREDFLAG_BUILD_BENCH=ON)
#        STORAGE=", memtable: 16MiB, cache: 8MiB" bench/memory.sh ...   (extra storage keys)
set -euo pipefail
build=$(cd "$1" && pwd)
rules=${2:-$(cd "$(dirname "$0")/../rules" && pwd)}
bin=$build/redflag
loadgen=$build/bench/redflag_loadgen
work=$(mktemp -d /tmp/redflag-memory-XXXX)
port=$(/usr/bin/python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
trap 'kill $(cat "$work/pid" 2>/dev/null) 2>/dev/null || true; rm -rf "$work"' EXIT

cat >"$work/redflag.yaml" <<YAML
listen: 127.0.0.1:$port
storage: {path: $work/data, sync: false${STORAGE:-}}
rules: {paths: [$rules]}
engine: {threads: 2}
log: {level: warn}
YAML

"$bin" serve --config "$work/redflag.yaml" >>"$work/log" 2>&1 &
pid=$!
echo $pid >"$work/pid"
until curl -fs "http://127.0.0.1:$port/readyz" >/dev/null 2>&1; do sleep 0.05; done
"$loadgen" --port "$port" --mode batch --batch 1000 --connections 4 --events 3000000 \
  --accounts 100000 --per-account 30 --run b | tail -3
sleep 2
echo "RSS: $(( $(ps -o rss= -p $pid) / 1024 )) MiB"
grep -E "^(Rss|Anonymous)" /proc/$pid/smaps_rollup
sleep 3  # a shard idle for 0.5 s after a burst hands free heap back (engine::service_options)
echo "RSS 5 s after the load: $(( $(ps -o rss= -p $pid) / 1024 )) MiB"
if command -v gdb >/dev/null; then
  gdb -p $pid -batch -ex "call (int)malloc_trim(0)" >/dev/null 2>&1 || true
  sleep 1
  echo "RSS after malloc_trim: $(( $(ps -o rss= -p $pid) / 1024 )) MiB"
fi
kill -TERM $pid
wait $pid || true
