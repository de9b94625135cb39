#!/usr/bin/env bash
# One GPU-machine call for the f16 decode performance pass: the conformance table (Dawn over Vulkan)
# for the backend defaults and, on the decode shapes, for every option set the benchmark compares
# (old path, each lever alone, larger split-KV targets); then the decode benchmark over those
# configs in the same process run, so every figure has its baseline next to it.
#   bash bench/webgpu/device-perf.sh <commit> <configs> [conformance opts JSON list, ';'-separated]
# Needs dist/ (npx tsc -p tsconfig.json) and .device-bundle/ carried. Results go to $OUT.
set -uo pipefail
commit="${1:-unknown}"
configs="${2:-auto:1024}"
extra="${3:-}"
OUT="${OUT:-/tmp/out}"
mkdir -p "$OUT"
export NODE_PATH=.device-bundle/node_modules
R="bash .device-bundle/run.sh"
nvidia-smi --query-gpu=name,memory.used,memory.total,clocks.sm,clocks.mem --format=csv 2>&1 | tee "$OUT/gpu.txt"
conf() { # name timeout args...
  local name=$1 t=$2; shift 2
  echo "=== $name $*" >> "$OUT/conformance.log"
  timeout "$t" $R node dist/bench/webgpu/conformance.js --backend vulkan "$@" 2>&1 | grep -v '^Warning' | grep -v '^\[run.sh\]' >> "$OUT/conformance.log"
  echo "== $name: $(tail -1 "$OUT/conformance.log")"
}
conf default 120 --json "$OUT/webgpu-conformance.json"
IFS=';' read -ra OPTS <<< "$extra"
for o in "${OPTS[@]}"; do conf "opts $o" 45 --only decode --opts "$o"; done
timeout 300 $R node dist/bench/webgpu/decode.js --backend vulkan --configs "$configs" --f32-check --commit "$commit" --json "$OUT/webgpu-decode.json" 2>&1 | grep -v '^Warning' | grep -v '^\[run.sh\]' | tee "$OUT/decode.log"
echo "PASS lines: $(grep -c PASS "$OUT/conformance.log")"; grep -B2 FAIL "$OUT/conformance.log" | head -30
