#!/usr/bin/env bash
# The packaging half of the main job: a converted model -> `sphere_aae package` (device
# linux) -> a chat program built from dist/ alone -> a chat turn. See examples/linux/.
#   bash scripts/package_demo.sh [BUILD_DIR] [PROMPT]
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
build=$(cd "${1:-$here/build}" && pwd)
prompt=${2:-In the beginning}
cli="$build/bin/sphere_aae"
py=/usr/bin/python3
work="$build/demo"
app="$work/app"
mkdir -p "$work"

# 1. a converted model: the demo model when its weights are in models/demo, else a tiny Llama
hf="$here/models/demo"
template=LM
if ! ls "$hf"/*.safetensors >/dev/null 2>&1; then
  "$py" "$here/scripts/gen_checkpoints.py" --out "$work/hf" --only tiny-llama-f32 >/dev/null
  hf="$work/hf/tiny-llama-f32"
fi
rm -rf "$app" && mkdir -p "$app"
"$cli" convert_weight "$hf" --quantization q4f16_1 -o "$app/model" >/dev/null
"$cli" gen_config "$hf" --quantization q4f16_1 --conv-template "$template" -o "$app/model" >/dev/null

# 2. package it (weights bundled, model library compiled, runtime built for linux)
cp "$here/examples/linux/sphere-aae-package-config.json" "$app/"
(cd "$app" && SPHERE_AAE_SOURCE_DIR="$here" "$cli" package)
echo "== dist/ (from sphere_aae package)"
(cd "$app" && find dist -type f -not -name '*.bin' | sort)

# 3. an app built from dist/ alone
cc "$here/examples/linux/chat.c" $(pkg-config --cflags --libs "$app/dist/lib/pkgconfig/sphere_aae.pc") -o "$app/chat"

# 4. chat with every packaged model, found by model_lib + model_path
"$py" - "$app/dist/bundle/sphere-aae-app-config.json" <<'PY' | while read -r path lib; do
import json, sys
for m in json.load(open(sys.argv[1]))["model_list"]:
    print(m["model_path"], m["model_lib"])
PY
  echo "== chat: $path (model_lib $lib)"
  "$app/chat" "$app/dist/bundle/$path" "$lib" "$prompt"
done
