#!/bin/sh
# Builds src/runtime/kernels/*.c and src/runtime/models/*.c as a model library
# would be built (freestanding, no libc headers: the Android and iOS targets have
# no sysroot here, so any libc #include fails), generic and specialised, and
# checks the objects' undefined symbols: only our own, plus memcpy/memset
# (which a compiler may emit for struct copies).
#   check_freestanding.sh SRC_DIR WORK_DIR
set -eu
src=$1
work=$2
cc=${CLANG:-clang-14}
nm=${LLVM_NM:-/usr/lib/llvm-14/bin/llvm-nm}
mkdir -p "$work"
fail=0
pass=0
spec="-DAAE_SPEC -DAAE_SPEC_PREFIX=tst_ -DAAE_SPEC_abi_version=1 -DAAE_SPEC_arch=0 -DAAE_SPEC_wtype=3
 -DAAE_SPEC_hidden=2048 -DAAE_SPEC_inter=5632 -DAAE_SPEC_n_layers=22 -DAAE_SPEC_n_heads=32 -DAAE_SPEC_n_kv=4
 -DAAE_SPEC_head_dim=64 -DAAE_SPEC_rot_dim=64 -DAAE_SPEC_vocab=32000 -DAAE_SPEC_kv_cap=2048 -DAAE_SPEC_window=0
 -DAAE_SPEC_sink=0 -DAAE_SPEC_chunk=128 -DAAE_SPEC_norm=0 -DAAE_SPEC_parallel=0 -DAAE_SPEC_shared_norm=0
 -DAAE_SPEC_gated=1 -DAAE_SPEC_act=0 -DAAE_SPEC_tied=0 -DAAE_SPEC_eps=1e-5f -DAAE_SPEC_emb_scale=1.0f"
for target in aarch64-linux-android24 arm64-apple-ios14 x86_64-linux-gnu aarch64-linux-gnu; do
  for mode in generic spec; do
    flags=""
    [ "$mode" = spec ] && flags=$spec
    objs=""
    for f in "$src"/kernels/*.c "$src"/models/*.c; do
      o="$work/$target-$mode-$(basename "$f" .c).o"
      # shellcheck disable=SC2086
      if ! $cc --target=$target -std=c11 -O2 -ffreestanding -nostdlib -nostdlibinc -fno-math-errno -fno-stack-protector -fPIC \
          -Wall -Werror -I"$src" $flags -c "$f" -o "$o"; then
        echo "FAIL compile $target $mode $f"; fail=$((fail + 1)); continue
      fi
      objs="$objs $o"
    done
    # shellcheck disable=SC2086
    bad=$($nm -u $objs 2>/dev/null | grep -v ":$" | awk '{print $NF}' | sed 's/^_//' |
          grep -v -E '^(aae_k_|aae_model_|tst_|memcpy$|memset$|__bzero$|$)' | sort -u | tr '\n' ' ')
    if [ -n "$bad" ]; then
      echo "FAIL $target $mode: undefined symbols outside the kernel interface: $bad"; fail=$((fail + 1))
    else
      pass=$((pass + 1)); echo "ok   $target $mode"
    fi
    if [ "$mode" = spec ]; then
      # shellcheck disable=SC2086
      ext=$($nm -g --defined-only $objs 2>/dev/null | grep -v ":$" | awk 'NF==3{print $3}' | sed 's/^_//' | grep -v '^tst_' |
            sort -u | tr '\n' ' ')
      if [ -n "$ext" ]; then
        echo "FAIL $target spec: external symbols without the prefix: $ext"; fail=$((fail + 1))
      else
        pass=$((pass + 1)); echo "ok   $target spec prefix"
      fi
    fi
  done
done
echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
