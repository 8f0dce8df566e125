#!/usr/bin/env bash
# The cluster benchmark of bench/RESULTS.md (issue 17): single-process ingest, the cluster
# with one and with two engine instances, and a failover, in one run (bench/cluster.py
# says what each part measures). Needs nats-server (deploy/install-deps.sh test).
# Usage:
#   cmake -S . -B build/release -G Ninja -DCMAKE_BUILD_TYPE=Release -DREDFLAG_BUILD_TESTS=OFF -DREDFLAG_BUILD_BENCH=ON
#   cmake --build build/release -j2 --target redflag redflag_loadgen
#   bench/cluster.sh build/release [--events 200000] [--accounts 20000] [--partitions 16]
set -euo pipefail
build=$(cd "$1" && pwd)
shift
exec /usr/bin/python3 "$(dirname "$0")/cluster.py" "$build" "$@"
