#!/usr/bin/env bash
# One GPU-machine call for the matrix-unit decode kernel (bench/webgpu/NOTES.md, sessions 2 and 3):
# the probe of Dawn's chromium-experimental-subgroup-matrix (features, configs, tiny multiplies incl.
# the staged-kernel cases), the conformance table with the backend defaults (unless SKIP_DEFAULT=1),
# then one conformance run per extra argument set (e.g. the mma variant with its options), then the
# decode benchmark over the given configs in one process (copy shader and the default in the same run).
#   bash bench/webgpu/device-mma.sh <commit> <configs> ['<conformance args>;<conformance args>;...']
#   e.g. '--variant mma --only decode --opts {"mmaChunk":32}' (no spaces inside the JSON)
#   env: LATE='<conformance args>;...' (sets run after the benchmark), SKIP_DEFAULT=1, SKIP_MMA=1 (no probe / diag-mma), F32CHECK='' (no f32 row), BENCH_ARGS='--batches 1,64,256 --contexts 8192,32768', CONF_T / LATE_T / BENCH_T (s),
#   DEFAULT_ARGS='--only decode' (the defaults' conformance on part of the table), SWEEP='<configs>' with SWEEP_ARGS / SWEEP_T: a second decode
#   benchmark (no f32 row) before the main one, into webgpu-decode-sweep.json (planner-target sweeps for residency, NOTES.md "Register diet")
# Needs dist/ (npx tsc -p tsconfig.json) and .device-bundle/ carried. Results go to $OUT (one archive).
set -uo pipefail
commit="${1:-unknown}"
configs="${2:-auto:1024}"
extra="${3:-}"
OUT="${OUT:-/tmp/out}"
W="$(mktemp -d)"
pack() { tar czf "$OUT/results.tgz" -C "$W" .; } # after every stage: a call cut off keeps what it has
export NODE_PATH=.device-bundle/node_modules
R="bash .device-bundle/run.sh"
f() { grep -v '^Warning' | grep -v '^\[run.sh\]'; }
nvidia-smi --query-gpu=name,memory.used,memory.total,clocks.sm,clocks.mem --format=csv 2>&1 | tee "$W/gpu.txt"
if [ "${SKIP_MMA:-0}" != 1 ]; then
  timeout 60 $R node dist/bench/webgpu/probe-mma.js --json "$W/probe-mma.json" 2>&1 | f > "$W/probe.log"
  grep -c '"pass":true' "$W/probe.log" | sed 's/^/probe cases passing: /'; grep -v '"pass":true' "$W/probe.log" | grep '"name"' | cut -c1-400
  timeout 60 $R node dist/bench/webgpu/diag-mma.js --backend vulkan --json "$W/diag-mma.json" 2>&1 | f | tee "$W/diag.log"
  pack
fi
conf() { # name timeout args...
  local name=$1 t=$2; shift 2
  echo "=== $name $*" >> "$W/conformance.log"
  timeout "$t" $R node dist/bench/webgpu/conformance.js --backend vulkan "$@" 2>&1 | f >> "$W/conformance.log"
  echo "== $name: $(tail -2 "$W/conformance.log" | tr '\n' ' ')"
  pack
}
# shellcheck disable=SC2086
[ "${SKIP_DEFAULT:-0}" = 1 ] || conf default 110 ${DEFAULT_ARGS:-} --json "$W/webgpu-conformance.json"
IFS=';' read -ra SETS <<< "$extra"
i=0
for s in "${SETS[@]}"; do
  i=$((i + 1))
  # shellcheck disable=SC2086
  conf "set$i" "${CONF_T:-60}" $s --json "$W/webgpu-conformance-set$i.json"
done
if [ -n "${SWEEP:-}" ]; then
  # shellcheck disable=SC2086
  timeout "${SWEEP_T:-120}" $R node dist/bench/webgpu/decode.js --backend vulkan --configs "$SWEEP" --commit "$commit" ${SWEEP_ARGS:-} --json "$W/webgpu-decode-sweep.json" 2>&1 | f | tee "$W/decode-sweep.log"
  pack
fi
# shellcheck disable=SC2086
timeout "${BENCH_T:-240}" $R node dist/bench/webgpu/decode.js --backend vulkan --configs "$configs" ${F32CHECK---f32-check} --commit "$commit" ${BENCH_ARGS:-} --json "$W/webgpu-decode.json" 2>&1 | f | tee "$W/decode.log"
pack
IFS=';' read -ra LSETS <<< "${LATE:-}"
for s in "${LSETS[@]}"; do
  i=$((i + 1))
  # shellcheck disable=SC2086
  conf "set$i" "${LATE_T:-40}" $s --json "$W/webgpu-conformance-set$i.json"
done
echo "PASS lines: $(grep -c '^PASS' "$W/conformance.log") FAIL lines: $(grep -c '^FAIL' "$W/conformance.log")"
grep -A3 '^FAIL' "$W/conformance.log" | cut -c1-300 | head -60
pack
