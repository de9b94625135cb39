#!/usr/bin/env bash
# One GPU-machine call for the WebGPU backend: conformance table (f32 and f16 through Dawn over
# Vulkan, shader-f16 via the Dawn toggle vulkan_enable_f16_on_nvidia) and the decode benchmark.
# Needs dist/ (npx tsc -p tsconfig.json) and .device-bundle/ carried. Results go to $OUT.
#   bash bench/webgpu/device-run.sh <commit> [decode targets, e.g. 512,1024,2048] [conformance|bench|all]
set -uo pipefail
commit="${1:-unknown}"
targets="${2:-1024}"
what="${3:-all}"
OUT="${OUT:-/tmp/out}"
mkdir -p "$OUT"
export NODE_PATH=.device-bundle/node_modules
R="bash .device-bundle/run.sh"
nvidia-smi --query-gpu=name,memory.used,memory.total,clocks.sm,clocks.mem --format=csv 2>&1 | tee "$OUT/gpu.txt"
if [ "$what" != bench ]; then
  timeout 150 $R node dist/bench/webgpu/conformance.js --backend vulkan --json "$OUT/webgpu-conformance.json" 2>&1 | grep -v '^Warning' | tee "$OUT/conformance.log"
  timeout 90 $R node dist/bench/webgpu/conformance.js --backend vulkan --variant workgroup --only decode 2>&1 | grep -v '^Warning' | tee "$OUT/conformance-workgroup.log"
fi
if [ "$what" != conformance ]; then
  timeout 280 $R node dist/bench/webgpu/decode.js --backend vulkan --targets "$targets" --variants "${VARIANTS:-auto}" --commit "$commit" --json "$OUT/webgpu-decode.json" 2>&1 | grep -v '^Warning' | tee "$OUT/decode.log"
fi
