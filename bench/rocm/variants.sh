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
# shellcheck source=scripts/nvcc-flags.sh
. scripts/nvcc-flags.sh
for spec in "$@"; do
  name=${spec%%=*}
  flags=${spec#*=}
  d="$b/var/$name"
  mkdir -p "$d"
  # shellcheck disable=SC2086
  "$NVCC" "${NV_KERNEL[@]}" $flags native-rocm/kernels/paged_decode.hip -o "$d/paged_decode.o"
  # shellcheck disable=SC2086
  "$NVCC" "${NV_BENCH[@]}" $flags bench/rocm/sinkrt_bench.cpp -o "$d/sinkrt_bench.o"
  objs=()
  for f in runtime reshape_and_cache paged_attention prefill; do objs+=("$b/nv/$f.o"); done
  "$NVCC" "${NV_LINK[@]}" "$d/sinkrt_bench.o" "$d/paged_decode.o" "${objs[@]}" -o "$d/sinkrt_bench"
  rm -f "$d"/*.o
  echo "variants: $d/sinkrt_bench ($flags)"
done
