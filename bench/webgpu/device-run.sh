#!/usr/bin/env bash
# One GPU-machine call for the WebGPU backend: the conformance table (f32 and f16 through Dawn over
# Vulkan, shader-f16 via the Dawn toggle vulkan_enable_f16_on_nvidia) for the default kernels and,
# on the decode shapes, for the other paged_decode variants and options the benchmark compares;
# then the decode benchmark. Needs dist/ (npx tsc -p tsconfig.json) and .device-bundle/ carried.
#   bash bench/webgpu/device-run.sh <commit> [configs variant:target[:steps[:lanes[:packed]]],...]
# Results (logs, JSON) go to $OUT.
set -uo pipefail
commit="${1:-unknown}"
configs="${2:-auto:1024}"
OUT="${OUT:-/tmp/out}"
mkdir -p "$OUT"
export NODE_PATH=.device-bundle/node_modules
R="bash .device-bundle/run.sh"
nvidia-smi --query-gpu=name,memory.used,memory.total,clocks.sm,clocks.mem --format=csv 2>&1 | tee "$OUT/gpu.txt"
conf() { # name timeout args...
  local name=$1 t=$2; shift 2
  timeout "$t" $R node dist/bench/webgpu/conformance.js --backend vulkan "$@" 2>&1 | grep -v '^Warning' | grep -v '^\[run.sh\]' >> "$OUT/conformance.log"
  echo "== $name: $(tail -1 "$OUT/conformance.log")"
}
conf default 120 --json "$OUT/webgpu-conformance.json"
conf workgroup 45 --variant workgroup --only decode
conf packed 45 --only decode --opts '{"packedF16":true}'
conf steps8 45 --only decode --opts '{"gqa8Steps":8}'
conf lanes16 45 --only decode --opts '{"gqa8Lanes":16}'
timeout 240 $R node dist/bench/webgpu/decode.js --backend vulkan --configs "$configs" --f32-check --commit "$commit" --json "$OUT/webgpu-decode.json" 2>&1 | grep -v '^Warning' | grep -v '^\[run.sh\]' | tee "$OUT/decode.log"
grep -c PASS "$OUT/conformance.log"; grep FAIL "$OUT/conformance.log" | head -20
