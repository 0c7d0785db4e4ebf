#!/bin/sh
# Cross-builds the kernel tests and the model API test for aarch64 (NEON path)
# with aarch64-linux-gnu-gcc, runs them under qemu-aarch64 on a CPU with the
# dot-product extension and on one without, and compares the greedy ids of the
# model API test with the native run's.
#   check_aarch64.sh SRC_ROOT WORK_DIR MODEL_DIR NATIVE_TEST_MODEL_API
set -eu
root=$1
work=$2
model=$3
native=$4
rt=$root/src/runtime
mkdir -p "$work"
cc=aarch64-linux-gnu-gcc
flags="-std=c11 -O2 -Wall -Wextra -Werror -D_POSIX_C_SOURCE=200809L -DAAE_VERSION_STRING=\"0.1.0\" -I$root/include -I$rt -I$root/tests"
lib="$rt/base/*.c $rt/format/*.c $rt/kernels/*.c $rt/models/*.c $rt/loader/*.c"
# shellcheck disable=SC2086
$cc $flags $rt/kernels/*.c $rt/loader/pool.c $rt/loader/cpu.c $rt/base/error.c "$root/tests/runtime/test_kernels.c" \
  -static -lm -lpthread -o "$work/test_kernels"
# shellcheck disable=SC2086
$cc $flags $lib "$root/tests/runtime/test_model_api.c" -static -lm -lpthread -ldl -o "$work/test_model_api"
# both NEON paths: a CPU with the dot-product extension (qemu's "max") and one
# without (Cortex-A53, ARMv8.0)
# qemu CPU, output file, program and arguments: runs it and fails unless its
# summary line says "N passed, 0 failed" (a pipeline's status is tee's)
run() {
  cpu=$1
  out=$2
  shift 2
  qemu-aarch64 -cpu "$cpu" "$@" | tee "$out"
  grep -q ', 0 failed$' "$out" || {
    echo "FAIL $(basename "$1") under qemu-aarch64 -cpu $cpu"
    echo "0 passed, 1 failed"
    exit 1
  }
}
run max "$work/kernels_max.out" "$work/test_kernels"
grep -q 'dot-product extension present, tested' "$work/kernels_max.out" || {
  echo "FAIL the dot-product path was not tested (qemu -cpu max without it?)"
  exit 1
}
run cortex-a53 "$work/kernels_a53.out" "$work/test_kernels"
grep -q 'dot-product extension absent' "$work/kernels_a53.out" || {
  echo "FAIL the plain NEON path was not tested"
  exit 1
}
"$native" "$model" > "$work/native.out"
b=$(grep '^ids:' "$work/native.out")
for cpu in max cortex-a53; do
  run "$cpu" "$work/arm_$cpu.out" "$work/test_model_api" "$model"
  a=$(grep '^ids:' "$work/arm_$cpu.out")
  if [ "$a" != "$b" ]; then
    echo "FAIL aarch64 ($cpu) greedy ids differ from native: $a vs $b"
    echo "0 passed, 1 failed"
    exit 1
  fi
  echo "ok   aarch64 ($cpu) greedy ids equal native"
done
echo "2 passed, 0 failed"
