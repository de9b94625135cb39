#!/usr/bin/env bash
# One GPU-machine call as in session 2 (bench/webgpu/NOTES.md): the probe of Dawn's
# chromium-experimental-subgroup-matrix (features, configs, tiny multiplies), the conformance table
# with the backend defaults, the decode shapes again for every extra option set, then the decode
# benchmark over the given configs in one process (copy shader in the same run). The s2 run also
# ran the decode shapes with the matrix-unit kernel (decodeVariant 'mma', since removed: it failed
# them); its lines are in bench/results/webgpu-conformance-h100-20261124-s2.log.
#   bash bench/webgpu/device-mma.sh <commit> <configs> [conformance opts JSON list, ';'-separated]
# Needs dist/ (npx tsc -p tsconfig.json) and .device-bundle/ carried. Results go to $OUT.
set -uo pipefail
commit="${1:-unknown}"
configs="${2:-auto:1024}"
extra="${3:-}"
OUT="${OUT:-/tmp/out}"
mkdir -p "$OUT"
export NODE_PATH=.device-bundle/node_modules
R="bash .device-bundle/run.sh"
f() { grep -v '^Warning' | grep -v '^\[run.sh\]'; }
nvidia-smi --query-gpu=name,memory.used,memory.total,clocks.sm,clocks.mem --format=csv 2>&1 | tee "$OUT/gpu.txt"
timeout 60 $R node dist/bench/webgpu/probe-mma.js --json "$OUT/probe-mma.json" 2>&1 | f | tee "$OUT/probe.log" | tail -12
conf() { # name timeout args...
  local name=$1 t=$2; shift 2
  echo "=== $name $*" >> "$OUT/conformance.log"
  timeout "$t" $R node dist/bench/webgpu/conformance.js --backend vulkan "$@" 2>&1 | f >> "$OUT/conformance.log"
  echo "== $name: $(tail -1 "$OUT/conformance.log")"
}
conf default 100 --json "$OUT/webgpu-conformance.json"
IFS=';' read -ra OPTS <<< "$extra"
for o in "${OPTS[@]}"; do conf "opts $o" 45 --only decode --opts "$o"; done
timeout 240 $R node dist/bench/webgpu/decode.js --backend vulkan --configs "$configs" --f32-check --commit "$commit" --json "$OUT/webgpu-decode.json" 2>&1 | f | tee "$OUT/decode.log"
echo "PASS lines: $(grep -c PASS "$OUT/conformance.log")"; grep -B2 -A3 FAIL "$OUT/conformance.log" | head -40
