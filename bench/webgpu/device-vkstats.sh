#!/usr/bin/env bash
# On the GPU machine: the driver's registers and spills for the WebGPU kernels as Dawn builds them
# there, one line of JSON per (option set, kernel). For each option set, dump-spirv.ts runs one
# decode case with Dawn's dump_shaders toggle, split-dump.py cuts the log into SPIR-V assembly,
# spirv-as assembles it and vkstats.c asks the driver (VK_KHR_pipeline_executable_properties).
# Needs, carried: dist/, .device-bundle/, build/vkstats and build/spirv-as (built and copied here:
#   gcc -O2 -o build/vkstats bench/webgpu/vkstats.c -lvulkan; cp /usr/bin/spirv-as build/).
#   bash bench/webgpu/device-vkstats.sh OUT.jsonl ['name=--opts JSON [--dtype f32]' ...]   (JSON without spaces)
set -uo pipefail
out=${1:?usage: device-vkstats.sh OUT.jsonl [sets...]}
shift
[ $# -gt 0 ] || set -- 'default=--opts {"gqa8Steps":6}'
export NODE_PATH=.device-bundle/node_modules
W=$(mktemp -d)
: > "$out"
for spec in "$@"; do
  name=${spec%%=*}
  args=${spec#*=}
  # shellcheck disable=SC2086  (args split on spaces: JSON without spaces)
  timeout 120 bash .device-bundle/run.sh node dist/bench/webgpu/dump-spirv.js --backend vulkan $args > "$W/$name.log" 2>&1
  grep '^dump-spirv:' "$W/$name.log" || { echo "$name: dump failed"; tail -5 "$W/$name.log"; continue; }
  python3 bench/webgpu/split-dump.py "$W/$name.log" "$W/$name" > /dev/null
  for f in "$W/$name"/*.spvasm; do
    k=$(basename "$f" .spvasm)
    if ! build/spirv-as --target-env vulkan1.3 "$f" -o "${f%.spvasm}.spv" 2> "$W/$name-$k.as.log"; then
      echo "{\"set\":\"$name\",\"kernel\":\"$k\",\"error\":\"spirv-as: $(head -c 300 "$W/$name-$k.as.log" | tr '\n"' ' ')\"}" >> "$out"
      continue
    fi
    s=$(timeout 60 bash .device-bundle/run.sh build/vkstats "${f%.spvasm}.spv" 2> "$W/$name-$k.vk.log" | grep '^{"device"')
    if [ -n "$s" ]; then
      echo "{\"set\":\"$name\",\"args\":$(python3 -c 'import json,sys; print(json.dumps(sys.argv[1]))' "$args"),\"kernel\":\"$k\",\"stats\":$s}" >> "$out"
    else
      echo "{\"set\":\"$name\",\"kernel\":\"$k\",\"error\":\"vkstats: $(tail -c 300 "$W/$name-$k.vk.log" | tr '\n"' ' ')\"}" >> "$out"
    fi
  done
done
cat "$out"
