#!/bin/sh
# Instructions the aarch64 runtime executes per prompt token and per decoded
# token, on a CPU with the dot-product extension (qemu -cpu max: the sdot
# kernels) and on one without (-cpu cortex-a53: ARMv8.0), counted under
# qemu-aarch64 with a plugin (icount_plugin.c). With no ARM hardware here the
# count stands in for speed: exact and repeatable, though it weighs every
# instruction alike (a load from memory, an sdot and an add count one each).
#   aarch64_icount.sh MODEL_DIR [PROMPT_LEN [GEN_LEN [OPT [WORK]]]]
# OPT: the -O level the runtime is built with (default 2, as in CMake's default
# RelWithDebInfo build; the Android binding builds with -O3). One thread.
# Prefill per token = (count(P, 0) - count(1, 0)) / (P - 1); decode per token =
# (count(P, G) - count(P, 0)) / G, at a context of P .. P + G.
# Needs aarch64-linux-gnu-gcc, qemu-aarch64 and a host cc (scripts/setup.sh).
set -eu
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
model=${1:?usage: aarch64_icount.sh MODEL_DIR [PROMPT_LEN [GEN_LEN [OPT [WORK]]]]}
P=${2:-64}
G=${3:-32}
O=${4:-2}
work=${5:-$(mktemp -d)}
[ "$P" -ge 2 ] || { echo "PROMPT_LEN must be 2 or more" >&2; exit 2; }
[ "$G" -ge 1 ] || { echo "GEN_LEN must be 1 or more" >&2; exit 2; }
mkdir -p "$work"
rt=$root/src/runtime
cc -shared -fPIC -O2 "$here/icount_plugin.c" -o "$work/libicount.so"
# shellcheck disable=SC2086
aarch64-linux-gnu-gcc -std=c11 -O"$O" -DNDEBUG -D_POSIX_C_SOURCE=200809L -DAAE_VERSION_STRING=\"icount\" \
  -I"$root/include" -I"$rt" $rt/base/*.c $rt/format/*.c $rt/kernels/*.c $rt/models/*.c $rt/loader/*.c \
  "$here/icount_driver.c" -static -lm -lpthread -ldl -o "$work/icount_driver" 2>"$work/link.log" ||
  { cat "$work/link.log" >&2; exit 1; }
count() { # cpu prompt gen -> instructions
  qemu-aarch64 -cpu "$1" -plugin "$work/libicount.so" "$work/icount_driver" "$model" "$2" "$3" \
    >"$work/out.txt" 2>"$work/err.txt" || { cat "$work/err.txt" >&2; exit 1; }
  sed -n 's/^icount //p' "$work/err.txt"
}
echo "model $model, prompt $P, generate $G, -O$O, 1 thread"
for cpu in max cortex-a53; do
  base=$(count "$cpu" 1 0)
  pre=$(count "$cpu" "$P" 0)
  all=$(count "$cpu" "$P" "$G")
  path=$(sed -n 's/^path \([^ ]*\).*/\1/p' "$work/out.txt")
  awk -v c="$cpu" -v p="$path" -v b="$base" -v q="$pre" -v a="$all" -v P="$P" -v G="$G" 'BEGIN {
    printf "%-11s %-13s prefill %8.2f M instructions/token   decode %8.2f M instructions/token\n",
           c, p, (q - b) / (P - 1) / 1e6, (a - q) / G / 1e6 }'
done
