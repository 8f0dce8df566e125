#!/bin/sh
# Runs the rules_fuzz libFuzzer target (the whole rule pipeline: parse, check, compile,
# evaluate, format) for a bounded time; exits non-zero on a crash, a sanitizer report or
# a broken promise (the reproducer is left in BUILD_DIR as fuzz-crash-*).
#   usage: tests/fuzz/run.sh BUILD_DIR SECONDS
set -eu
if [ $# -ne 2 ]; then
  echo "usage: $0 BUILD_DIR SECONDS" >&2
  exit 2
fi
build=$(cd "$1" && pwd)
seconds=$2
here=$(cd "$(dirname "$0")" && pwd)
source_dir=$(cd "$here/../.." && pwd)
target="$build/tests/fuzz/rules_fuzz"
if [ ! -x "$target" ]; then
  echo "$target not found: configure with clang++-14 and -DREDFLAG_BUILD_FUZZ=ON, build rules_fuzz" >&2
  exit 2
fi

# The working corpus grows across runs; the seeds are the checked-in corpus and every
# .rules file of the tests, of the shipped rules and of the conformance scenarios.
corpus="$build/fuzz-corpus"
mkdir -p "$corpus"
seeds="$here/corpus"
for d in "$source_dir/tests/rules/data" "$source_dir/rules" "$source_dir/../shared/conformance"; do
  [ -d "$d" ] && seeds="$seeds $d"
done

# -entropic=0: with the many coverage points of PEGTL's templates, entropic scheduling
# spends most of the time updating feature frequencies.
# shellcheck disable=SC2086
exec "$target" -max_total_time="$seconds" -max_len=4096 -entropic=0 -timeout=10 -rss_limit_mb=2048 \
  -dict="$here/rules.dict" -artifact_prefix="$build/fuzz-" -print_final_stats=1 \
  "$corpus" $seeds
