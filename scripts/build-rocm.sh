#!/usr/bin/env bash
# Builds the native (HIP) path, all outputs under native-rocm/build/ (git-ignored; nothing cached elsewhere):
#   amd/*.o          compile check of every kernel file with Debian's hipcc for gfx90a, gfx940, gfx1030
#                    (one hipcc call per file, each arch once). Objects only: nothing here runs them.
#   nv/*.o           the same sources through nvcc for sm_90a (the portability header maps HIP onto CUDA)
#   sinkrt.node      the Node-API addon (g++ against /usr/include/node), linked with those objects and
#                    the static CUDA runtime, so on the GPU machine it needs only the driver's libcuda.so.1
#   sinkrt_bench     the benchmark binary of bench/rocm/ over the same objects (run on the GPU machine)
# Env: SINKRT_ROCM_SKIP_AMD=1 skips the hipcc check (local iteration only; CI runs it).
# Missing hipcc is an error (scripts/setup-system.sh installs it); missing nvcc skips the NVIDIA build
# with a warning, and the GPU suites then skip saying the addon was not built.
set -euo pipefail
cd "$(dirname "$0")/.."
out=native-rocm/build
srcs=(runtime reshape_and_cache paged_attention paged_decode prefill)
mkdir -p "$out/amd" "$out/nv"
t0=$(date +%s)

if [ "${SINKRT_ROCM_SKIP_AMD:-0}" != 1 ]; then
  if ! command -v hipcc >/dev/null 2>&1; then
    echo "build-rocm: hipcc not found (apt-get install hipcc libamdhip64-dev, see scripts/setup-system.sh)" >&2
    exit 1
  fi
  for f in "${srcs[@]}"; do
    # HIP_PLATFORM=amd: Debian's hipcc otherwise sees nvcc and takes its NVIDIA path, which fails on CUDA 13.
    HIP_PLATFORM=amd hipcc -c -O3 -std=c++17 -Wall -Werror -Wno-unused-command-line-argument \
      --offload-arch=gfx90a --offload-arch=gfx940 --offload-arch=gfx1030 \
      -x hip "native-rocm/kernels/$f.hip" -o "$out/amd/$f.o"
  done
  echo "build-rocm: hipcc gfx90a,gfx940,gfx1030 ok ($(( $(date +%s) - t0 ))s)"
fi

NVCC=${NVCC:-nvcc}
if ! command -v "$NVCC" >/dev/null 2>&1; then
  echo "build-rocm: WARNING nvcc not found: NVIDIA objects, addon and bench binary not built" >&2
  rm -f "$out/sinkrt.node" "$out/sinkrt_bench"
  exit 0
fi
cudalib=$("$NVCC" --dryrun -x cu -c /dev/null 2>&1 | sed -n 's/.*LIBRARIES=.*"-L\([^"]*targets[^"]*\/lib\)".*/\1/p' | head -1)
[ -n "$cudalib" ] && [ -f "$cudalib/libcudart_static.a" ] || { echo "build-rocm: libcudart_static.a not found next to $NVCC" >&2; exit 1; }
t1=$(date +%s)
# shellcheck source=scripts/nvcc-flags.sh
. scripts/nvcc-flags.sh
for f in "${srcs[@]}"; do
  "$NVCC" "${NV_KERNEL[@]}" "native-rocm/kernels/$f.hip" -o "$out/nv/$f.o"
done
echo "build-rocm: nvcc sm_90a ok ($(( $(date +%s) - t1 ))s)"

cxx=(g++ -std=c++17 -O2 -fPIC -Wall -Werror)
"${cxx[@]}" -I/usr/include/node -DNODE_GYP_MODULE_NAME=sinkrt -DSINKRT_BUILT_ARCHS=\"sm_90a\" -c native-rocm/addon/addon.cc -o "$out/nv/addon.o"
"${cxx[@]}" -c native-rocm/addon/device_state.cc -o "$out/nv/device_state.o"
objs=("${srcs[@]/#/$out/nv/}")
objs=("${objs[@]/%/.o}")
"${cxx[@]}" -shared -o "$out/sinkrt.node.tmp" "$out/nv/addon.o" "$out/nv/device_state.o" "${objs[@]}" \
  -L"$cudalib" -lcudart_static -ldl -lpthread -lrt
mv "$out/sinkrt.node.tmp" "$out/sinkrt.node"
if [ -f bench/rocm/sinkrt_bench.cpp ]; then
  "$NVCC" "${NV_BENCH[@]}" bench/rocm/sinkrt_bench.cpp -o "$out/nv/sinkrt_bench.o"
  "$NVCC" "${NV_LINK[@]}" "$out/nv/sinkrt_bench.o" "${objs[@]}" -o "$out/sinkrt_bench"
fi
echo "build-rocm: $out/sinkrt.node ($(wc -c < "$out/sinkrt.node") bytes) in $(( $(date +%s) - t0 ))s"
