#!/usr/bin/env bash
# Cluster mode on one machine, to try it (issue 17): a 3-node NATS JetStream cluster and
# two Redflag instances (roles ingest + engine) on loopback, fed the example world.
#   1. installs the Debian packages (deploy/install-deps.sh build test: nats-server too);
#   2. builds the Release binary (or uses $BIN);
#   3. starts nats-server n0..n2 (client ports 4250-4252) and redflag a and b
#      (127.0.0.1:8081 and :8082), everything under build/cluster/;
#   4. generates the example world and posts it to instance a, which publishes it to the
#      stream; both instances consume their share of the 16 partitions.
# Stop everything with:  deploy/cluster.sh stop
# Try a failover:        kill -9 $(cat build/cluster/a.pid)   (b owns every partition ~3 s later)
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
dir=build/cluster

stop_all() {
  for pidfile in "$dir"/*.pid; do
    [[ -f "$pidfile" ]] || continue
    pid=$(cat "$pidfile")
    if kill -0 "$pid" 2>/dev/null; then
      kill "$pid"
      while kill -0 "$pid" 2>/dev/null; do sleep 0.2; done
    fi
    rm -f "$pidfile"
  done
}

if [[ "${1:-}" == "stop" ]]; then
  stop_all
  exit 0
fi

if [[ -z "${BIN:-}" ]]; then
  deploy/install-deps.sh build
  deploy/install-deps.sh test
  echo "== building (Release)"
  cmake -S . -B build/release -G Ninja -DCMAKE_BUILD_TYPE=Release -DREDFLAG_BUILD_TESTS=OFF -DREDFLAG_BUILD_BENCH=OFF >/dev/null
  cmake --build build/release -j"${JOBS:-2}" --target redflag
  BIN=build/release/redflag
fi
nats=$(command -v nats-server || echo /usr/bin/nats-server)

stop_all
rm -rf "$dir"
mkdir -p "$dir"

echo "== starting a 3-node JetStream cluster (client ports 4250-4252)"
for i in 0 1 2; do
  routes=""
  for j in 0 1 2; do [[ $j == "$i" ]] || routes+="    \"nats-route://127.0.0.1:$((6250 + j))\"\n"; done
  printf 'server_name: "n%s"\nlisten: "127.0.0.1:%s"\njetstream {\n  store_dir: "%s/n%s"\n}\ncluster {\n  name: "redflag_demo"\n  listen: "127.0.0.1:%s"\n  routes: [\n%b  ]\n}\n' \
    "$i" "$((4250 + i))" "$root/$dir" "$i" "$((6250 + i))" "$routes" >"$dir/n$i.conf"
  nohup "$nats" -c "$dir/n$i.conf" >"$dir/n$i.log" 2>&1 &
  echo $! >"$dir/n$i.pid"
done

# Each instance: its own store, node name and port; the same rules and partitions.
for node in a b; do
  port=$([[ $node == a ]] && echo 8081 || echo 8082)
  cat >"$dir/$node.yaml" <<YAML
listen: 127.0.0.1:$port
storage: {path: $root/$dir/$node-data, retention: 600d}
rules: {paths: [$root/rules]}
engine: {threads: 2, snapshot_interval: 10s}
cluster:
  nats: [nats://127.0.0.1:4250, nats://127.0.0.1:4251, nats://127.0.0.1:4252]
  node: $node
  partitions: 16
  replicas: 3
  roles: [ingest, engine]
  lease_ttl: 4s
  renew_interval: 1s
YAML
  echo "== starting redflag $node on 127.0.0.1:$port (log in $dir/$node.log)"
  nohup "$BIN" serve --config "$dir/$node.yaml" >"$dir/$node.log" 2>&1 &
  echo $! >"$dir/$node.pid"
done
for node in a b; do
  port=$([[ $node == a ]] && echo 8081 || echo 8082)
  for _ in $(seq 1 600); do
    if curl -fs "http://127.0.0.1:$port/readyz" >/dev/null; then break; fi
    if ! kill -0 "$(cat "$dir/$node.pid")" 2>/dev/null; then
      echo "redflag $node exited; its log:" >&2
      cat "$dir/$node.log" >&2
      exit 1
    fi
    sleep 0.1
  done
  curl -fs "http://127.0.0.1:$port/readyz" >/dev/null
done

world=build/world-cluster
accounts=${ACCOUNTS:-200}
start=$(date -u -d "-18 months" +%Y-%m-%d)
echo "== generating the example world: $accounts accounts, 18 months from $start"
examples/generate --seed 42 --accounts "$accounts" --months 18 --start "$start" --out "$world" >/dev/null

echo "== posting $(wc -l <"$world/events.ndjson") events to instance a (it publishes them to the stream)"
chunks=$(mktemp -d)
split -l 2000 -d -a 4 "$world/events.ndjson" "$chunks/part-"
accepted=0
for part in "$chunks"/part-*; do
  answer=$(curl -fsS -X POST -H 'Content-Type: application/x-ndjson' --data-binary @"$part" "http://127.0.0.1:8081/v1/events")
  n=$(sed -n 's/.*"accepted":\([0-9]*\).*/\1/p' <<<"$answer")
  accepted=$((accepted + ${n:-0}))
done
rm -rf "$chunks"

owned() { curl -fs "http://127.0.0.1:$1/metrics" | sed -n 's/^redflag_cluster_leases_owned \([0-9]*\).*/\1/p'; }
cat <<MSG

Redflag runs in cluster mode: $accepted events published; partitions owned: a $(owned 8081), b $(owned 8082).

  Instances:   http://127.0.0.1:8081  http://127.0.0.1:8082   (pids in $dir/*.pid, logs in $dir/*.log)
  NATS:        nats://127.0.0.1:4250,4251,4252                 (JetStream data in $dir/n*/)
  An account:  curl -s http://127.0.0.1:8081/v1/accounts/ID    (either instance: the owner answers)
  Alerts:      curl -s http://127.0.0.1:8082/v1/alerts          (both instances' alerts, merged)
  Rules:       edit rules/ and curl -X POST http://127.0.0.1:8081/-/reload   (b reloads too)
  Leases:      curl -s http://127.0.0.1:8082/metrics | grep redflag_cluster_
  Failover:    kill -9 \$(cat $dir/a.pid); a few seconds later b owns all 16 partitions
  Stop:        deploy/cluster.sh stop
MSG
