#!/usr/bin/env bash
# Installs what is needed, builds, and runs every test through CTest: unit tests,
# integration tests against the real binary and real peers on loopback, the rule
# conformance scenarios, and bounded libFuzzer runs of the rule language (parse, check,
# compile, evaluate, format) and of the event decoder.
# Usage: deploy/test.sh            (from anywhere; builds in build/test and build/fuzz)
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
jobs=${JOBS:-2}

deploy/install-deps.sh test

# The fuzz targets need clang's libFuzzer runtime: a separate, small build of the rule
# language and of the event path, run for a bounded time by the CTest tests `rules_fuzz`
# and `event_fuzz`.
CXX=clang++-14 cmake -S . -B build/fuzz -G Ninja -DCMAKE_BUILD_TYPE=Debug -DREDFLAG_BUILD_FUZZ=ON \
  -DREDFLAG_BUILD_TESTS=OFF -DREDFLAG_BUILD_BENCH=OFF >/dev/null
cmake --build build/fuzz -j"$jobs" --target rules_fuzz event_fuzz

cmake -S . -B build/test -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo -DREDFLAG_BUILD_TESTS=ON \
  -DREDFLAG_FUZZ_BUILD_DIR="$root/build/fuzz" >/dev/null
cmake --build build/test -j"$jobs"
# The Debian package (build/test/packages/redflag_VERSION_ARCH.deb); the integration test
# test_package installs it into a scratch root and starts it from there.
(cd build/test && cpack -G DEB -B "$root/build/test/packages" >/dev/null)

cd build/test
ctest --output-on-failure -j"$jobs" --timeout 600
