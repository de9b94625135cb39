#!/usr/bin/env bash
# Builds the AssemblyScript engine (assembly/) into build/engine.wasm (release: -O3, SIMD, threads for
# the shared imported memory) and build/engine.debug.wasm (debug, source map). Uses the asc of
# node_modules, so `npm ci` is all it needs.
set -euo pipefail
cd "$(dirname "$0")/.."
ASC=node_modules/.bin/asc
if [ ! -x "$ASC" ]; then
  echo "build-asm: $ASC not found; run npm ci first" >&2
  exit 1
fi
mkdir -p build
"$ASC" assembly/index.ts --config asconfig.json --target release
"$ASC" assembly/index.ts --config asconfig.json --target debug
echo "build-asm: build/engine.wasm ($(wc -c < build/engine.wasm) bytes), build/engine.debug.wasm"
