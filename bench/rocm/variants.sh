#!/usr/bin/env bash
# Builds extra sinkrt_bench binaries that differ from the default build only in compile-time switches
# of the decode kernels (the SK_PD_* list at the top of native-rocm/kernels/paged_decode.hip, and
# SK_PD_TRACE for the per-block trace), so A/B runs on the GPU machine compare builds of one tree in
# one session. Run here (nvcc), after scripts/build-rocm.sh; carry native-rocm/build/var.
#   bash bench/rocm/variants.sh NAME='-DSK_X=1 -DSK_Y=2' [NAME2='...' ...]
#   -> native-rocm/build/var/NAME/sinkrt_bench
set -euo pipefail
cd "$(dirname "$0")/../.."
b=native-rocm/build
[ -f "$b/nv/runtime.o" ] || { echo "variants: run scripts/build-rocm.sh first" >&2; exit 1; }
NVCC=${NVCC:-nvcc}
arch=(-gencode=arch=compute_90a,code=sm_90a)
for spec in "$@"; do
  name=${spec%%=*}
  flags=${spec#*=}
  d="$b/var/$name"
  mkdir -p "$d"
  # shellcheck disable=SC2086
  "$NVCC" -x cu -c -O3 --use_fast_math -std=c++17 "${arch[@]}" $flags -Xcompiler -fPIC,-Wall -Werror all-warnings \
    native-rocm/kernels/paged_decode.hip -o "$d/paged_decode.o"
  # shellcheck disable=SC2086
  "$NVCC" -x cu -O3 -std=c++17 "${arch[@]}" $flags -Inative-rocm/kernels -c bench/rocm/sinkrt_bench.cpp -o "$d/sinkrt_bench.o"
  objs=()
  for f in runtime reshape_and_cache paged_attention prefill; do objs+=("$b/nv/$f.o"); done
  "$NVCC" "${arch[@]}" "$d/sinkrt_bench.o" "$d/paged_decode.o" "${objs[@]}" -cudart static -o "$d/sinkrt_bench"
  rm -f "$d"/*.o
  echo "variants: $d/sinkrt_bench ($flags)"
done
