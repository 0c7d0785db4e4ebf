#!/usr/bin/env bash
# The test command: installs what is missing, builds with warnings as errors, runs
# every test, then builds again with AddressSanitizer + UndefinedBehaviorSanitizer
# and runs every test again, then runs each fuzz harness for a short bounded time.
#   bash scripts/test.sh            everything
#   AAE_QUICK=1 bash scripts/test.sh   skip the sanitizer and fuzz passes
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
cd "$here"
bash scripts/setup.sh
jobs=$(nproc)

echo "== build (release, -Werror)"
cmake -S . -B build -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build build -j "$jobs"
echo "== tests"
ctest --test-dir build --output-on-failure -j "$jobs"

if [ "${AAE_QUICK:-0}" = 1 ]; then exit 0; fi

echo "== build (AddressSanitizer + UndefinedBehaviorSanitizer)"
cmake -S . -B build-asan -G Ninja -DCMAKE_BUILD_TYPE=Debug -DAAE_SANITIZE=ON >/dev/null
cmake --build build-asan -j "$jobs"
echo "== tests under ASan + UBSan"
ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
  AAE_SANITIZED=1 ctest --test-dir build-asan --output-on-failure -j "$jobs" -LE slow

echo "== fuzz (bounded)"
bash scripts/fuzz.sh "${AAE_FUZZ_SECONDS:-20}"
