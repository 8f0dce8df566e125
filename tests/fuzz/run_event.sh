#!/bin/sh
# Runs the event_fuzz libFuzzer target for a bounded time; exits non-zero on a crash, a
# sanitizer report or a broken round-trip promise (the reproducer is left in BUILD_DIR
# as event-fuzz-crash-*).
#   usage: tests/fuzz/run_event.sh BUILD_DIR SECONDS
set -eu
if [ $# -ne 2 ]; then
  echo "usage: $0 BUILD_DIR SECONDS" >&2
  exit 2
fi
build=$(cd "$1" && pwd)
seconds=$2
here=$(cd "$(dirname "$0")" && pwd)
target="$build/tests/fuzz/event_fuzz"
if [ ! -x "$target" ]; then
  echo "$target not found: configure with clang++-14 and -DREDFLAG_BUILD_FUZZ=ON, build event_fuzz" >&2
  exit 2
fi

# The working corpus grows across runs; the seeds are the checked-in event corpus (the
# first byte of each file chooses JSON (even) or NDJSON (odd)).
corpus="$build/event-fuzz-corpus"
mkdir -p "$corpus"
exec "$target" -max_total_time="$seconds" -max_len=4096 -timeout=10 -rss_limit_mb=2048 \
  -dict="$here/event.dict" -artifact_prefix="$build/event-fuzz-" -print_final_stats=1 \
  "$corpus" "$here/event_corpus"
