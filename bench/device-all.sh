#!/usr/bin/env bash
# One GPU-machine call that re-verifies every GPU claim of the README at one commit: the conformance
# table on the rocm path (f16, bf16; split-KV heuristic and one segment) and on WebGPU (Dawn over
# Vulkan; f32, f16), the rocm benchmark (decode KV read vs the device copy, prefill vs PyTorch SDPA),
# the WebGPU decode benchmark (vs a copy shader), and the main job (`sinkrt serve --json`) on both
# GPU backends. Every section runs in the same session, so each ratio has its baseline beside it.
# Needs, built here and carried: dist/ and build/ (npm run build: the TS, the engine and CPU WASM),
# native-rocm/build/sinkrt.node and sinkrt_bench (scripts/build-rocm.sh),
# .device-bundle/ (../shared/tools/device-bundle/make.sh) and node_modules/comlink (the CLI's worker).
#   bash bench/device-all.sh COMMIT [sections]     sections: any of conf-rocm conf-webgpu bench-rocm
#                                                   bench-webgpu serve (default: all)
# Results go to $OUT (one log per section, JSON beside it); a section's failure is reported and the
# next one still runs. Exit status: 1 if any section failed.
set -uo pipefail
cd "$(dirname "$0")/.."
commit="${1:?usage: bench/device-all.sh COMMIT [sections]}"
sections="${2:-conf-rocm conf-webgpu bench-rocm bench-webgpu serve}"
OUT="${OUT:-/tmp/out}"
mkdir -p "$OUT"
export NODE_PATH=.device-bundle/node_modules
N="bash .device-bundle/run.sh node"  # (unquoted below: timeout needs a program, not a function)
status=0
section() { # name timeout command...   (stdout -> $OUT/name.log, or $OUT/name.json where JSON=1)
  local name=$1 t=$2; shift 2
  local t0=$SECONDS out="$OUT/$name.log"
  [ "${JSON:-0}" = 1 ] && out="$OUT/$name.json"
  if timeout "$t" "$@" > "$out" 2>> "$OUT/$name.log"; then
    echo "== $name: ok ($((SECONDS - t0)) s)"
  else
    echo "== $name: FAILED (exit $?, $((SECONDS - t0)) s); last lines:"
    status=1
  fi
  # The bundle's run.sh reports its setup on stdout: keep a JSON result from its opening brace on.
  [ "${JSON:-0}" = 1 ] && awk 'f || /^[{]$/ { f = 1; print }' "$out" > "$out.tmp" && mv "$out.tmp" "$out"
  grep -v '^Warning\|^\[run.sh\]' "$OUT/$name.log" 2>/dev/null | tail -4
}
nvidia-smi --query-gpu=name,driver_version,clocks.max.sm,memory.total --format=csv,noheader > "$OUT/gpu.txt" 2>&1
for s in $sections; do
  case $s in
    conf-rocm) section conf-rocm 200 $N dist/test/rocm/run-device.js "$OUT/rocm-conformance.json" ;;
    conf-webgpu) section conf-webgpu 200 $N dist/bench/webgpu/conformance.js --backend vulkan --json "$OUT/webgpu-conformance.json" ;;
    bench-rocm) section bench-rocm 300 bash bench/rocm/run.sh "$OUT/rocm" "$commit" ;;
    bench-webgpu) section bench-webgpu 200 $N dist/bench/webgpu/decode.js --backend vulkan --configs auto:1024 --f32-check --parts --seq 8 --commit "$commit" --json "$OUT/webgpu-decode.json" ;;
    serve)
      JSON=1 section serve-auto 150 $N dist/src/cli/main.js serve --json --quiet
      JSON=1 section serve-webgpu 200 $N dist/src/cli/main.js serve --backend webgpu --json --quiet ;;
    *) echo "unknown section $s"; status=1 ;;
  esac
done
# The device tool brings back a limited number of files: PACK=1 leaves one archive.
if [ "${PACK:-0}" = 1 ]; then
  tar -C "$OUT" -czf /tmp/device-all.tgz . && find "$OUT" -mindepth 1 -delete && mv /tmp/device-all.tgz "$OUT/"
fi
exit $status
