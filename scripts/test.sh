#!/usr/bin/env bash
# The test command: installs what is missing, builds with warnings as errors, runs
# every test, then builds again with AddressSanitizer + UndefinedBehaviorSanitizer
# and runs every test again, then runs each fuzz harness for a short bounded time.
#   bash scripts/test.sh            everything
#   AAE_QUICK=1 bash scripts/test.sh   skip the sanitizer and fuzz passes
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
cd "$here"
start=$SECONDS
phase() { echo "== $1 (at $((SECONDS - start)) s)"; }
bash scripts/setup.sh
jobs=$(nproc)
# A hung test fails after 10 minutes instead of holding CI (ctest's default is 25).
timeout=600

phase "build (release, -Werror)"
cmake -S . -B build -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build build -j "$jobs"
phase "tests"
ctest --test-dir build --output-on-failure -j "$jobs" --timeout "$timeout"

if [ "${AAE_QUICK:-0}" = 1 ]; then phase done; exit 0; fi

phase "build (AddressSanitizer + UndefinedBehaviorSanitizer)"
cmake -S . -B build-asan -G Ninja -DCMAKE_BUILD_TYPE=Debug -DAAE_SANITIZE=ON >/dev/null
cmake --build build-asan -j "$jobs"
phase "tests under ASan + UBSan"
ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
  AAE_SANITIZED=1 ctest --test-dir build-asan --output-on-failure -j "$jobs" -LE slow --timeout "$timeout"

phase "fuzz (bounded)"
bash scripts/fuzz.sh "${AAE_FUZZ_SECONDS:-20}"
phase done
