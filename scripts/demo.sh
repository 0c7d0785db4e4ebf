#!/usr/bin/env bash
# The main job: installs what is missing, builds, and runs the example end to end.
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
cd "$here"
bash scripts/setup.sh
cmake -S . -B build -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build build -j "$(nproc)"
./build/bin/sphere_aae --version
# Package a converted model for linux, build a chat app from dist/ alone, and chat with it.
bash scripts/package_demo.sh build
