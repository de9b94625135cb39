#!/usr/bin/env bash
# On the GPU machine: the decode benchmark once per config, each in a fresh node process, so no config
# runs late in a long process (where some ran 1.6-3x slower and never again when re-run: NOTES.md
# "Register diet"). Writes $OUT/decode-<i>.json per config, in argument order.
#   COMMIT=<sha> [ARGS='--f32-check --batches 64,256'] bash bench/webgpu/fresh-configs.sh <config> [<config> ...]
# Needs dist/ and .device-bundle/ carried.
set -uo pipefail
OUT="${OUT:-/tmp/out}"
export NODE_PATH=.device-bundle/node_modules
i=0
for c in "$@"; do
  i=$((i + 1))
  # shellcheck disable=SC2086
  timeout "${T:-100}" bash .device-bundle/run.sh node dist/bench/webgpu/decode.js --backend vulkan --configs "$c" ${ARGS:-} \
    --commit "${COMMIT:-unknown}" --json "$OUT/decode-$i.json" 2>&1 | grep -E 'copy shader|batch|failed' | cut -c1-170
done
