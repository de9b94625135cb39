#!/usr/bin/env bash
# Builds the CPU backend's kernels (native-cpu/*.cpp) to one WASM SIMD module, build/cpu/sinkrt_cpu.wasm.
# Standalone WASM (no emscripten JS glue): src/backends/cpu/ instantiates it itself, in Node and in
# browsers/workers alike. Growable memory up to 4 GiB; the loader re-derives its views after growth.
set -euo pipefail
cd "$(dirname "$0")/.."
export NODE_PATH=${NODE_PATH:-/usr/share/nodejs}  # Debian's emscripten finds acorn there
if ! command -v em++ >/dev/null 2>&1; then
  echo "build-cpu: em++ not found (apt-get install emscripten, see scripts/setup-system.sh)" >&2
  exit 1
fi
out=build/cpu
mkdir -p "$out/tmp"
exports=_sinkrt_abi_version,_sinkrt_params_bytes,_sinkrt_alloc,_sinkrt_free,_sinkrt_to_storage,_sinkrt_from_storage
exports+=,_sinkrt_copy,_sinkrt_memcpy,_sinkrt_read_sum,_sinkrt_reshape_and_cache
exports+=,_sinkrt_paged_decode,_sinkrt_paged_decode_scratch_floats
exports+=,_sinkrt_unified_attention,_sinkrt_unified_attention_scratch_floats
em++ -std=c++17 -O3 -msimd128 -mbulk-memory -fno-exceptions -fno-rtti -Wall -Werror \
  -sSTANDALONE_WASM --no-entry \
  -sALLOW_MEMORY_GROWTH=1 -sINITIAL_MEMORY=16MB -sMAXIMUM_MEMORY=4GB -sTOTAL_STACK=1MB \
  -sEXPORTED_FUNCTIONS="$exports" \
  -o "$out/tmp/sinkrt_cpu.wasm" native-cpu/*.cpp
mv "$out/tmp/sinkrt_cpu.wasm" "$out/sinkrt_cpu.wasm"
rmdir "$out/tmp"
echo "build-cpu: $out/sinkrt_cpu.wasm ($(wc -c < "$out/sinkrt_cpu.wasm") bytes)"
