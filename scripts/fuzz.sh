#!/usr/bin/env bash
# Builds the libFuzzer harnesses with clang and runs each for N seconds (default 20).
# Seeds come from fuzz/corpus/<harness>/ when present. One input running over 25 s
# is a failure (a hang), so the pass stays bounded.
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
cd "$here"
secs=${1:-20}
CC=clang cmake -S . -B build-fuzz -G Ninja -DCMAKE_BUILD_TYPE=Debug -DAAE_FUZZ=ON -DAAE_BUILD_TOOLS=ON \
  -DAAE_BUILD_TESTS=OFF >/dev/null
cmake --build build-fuzz -j "$(nproc)"
shopt -s nullglob
# One harness per CPU at a time; each writes its own log, failures are reported
# once all have run.
par=$(nproc)
run_one() {
  local bin=$1 name work
  name=$(basename "$bin")
  work="build-fuzz/corpus/$name"
  mkdir -p "$work"
  local seeds=()
  [ -d "fuzz/corpus/$name" ] && seeds+=("fuzz/corpus/$name")
  if "$bin" -max_total_time="$secs" -timeout=25 -rss_limit_mb=2048 -print_final_stats=0 "$work" "${seeds[@]}" \
    2>"build-fuzz/$name.log"; then
    echo "fuzz: $name for ${secs}s: $(grep -E '^#[0-9]+.*DONE' "build-fuzz/$name.log" | tail -1)"
  else
    touch "build-fuzz/$name.failed"
  fi
}
rm -f build-fuzz/*.failed
for bin in build-fuzz/fuzz/fuzz_*; do
  [ -x "$bin" ] || continue
  while [ "$(jobs -rp | wc -l)" -ge "$par" ]; do sleep 1; done
  run_one "$bin" &
done
wait
failed=0
for f in build-fuzz/*.failed; do
  name=$(basename "$f" .failed)
  tail -50 "build-fuzz/$name.log"
  echo "fuzz: $name FAILED"
  failed=1
done
exit "$failed"
