#!/bin/bash
# Installs the reference engine of bench/runtime/run_bench.py --reference:
# llama.cpp as the npm package node-llama-cpp ships it (prebuilt CPU libraries
# for x86-64 and aarch64 Linux, the kernels picked for the CPU when loaded).
# About 730 MB (it carries CUDA and Vulkan builds beside the CPU ones); not a
# dependency of the project, of its build or of its tests.
#
#   bash bench/reference/setup.sh DIR      -> DIR/node_modules/node-llama-cpp
set -euo pipefail
dir=${1:?usage: setup.sh DIR}
version=3.22.1
mkdir -p "$dir"
if [ ! -f "$dir/package.json" ]; then
    echo '{"name": "aae-reference-engine", "private": true}' > "$dir/package.json"
fi
# --ignore-scripts: the package's postinstall would offer to build llama.cpp
# from source; the prebuilt libraries come in its optional dependencies.
npm install --prefix "$dir" --no-audit --no-fund --ignore-scripts "node-llama-cpp@$version"
echo "reference engine in $dir/node_modules (node-llama-cpp $version)"
