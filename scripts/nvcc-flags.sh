# Sourced by scripts/build-rocm.sh and bench/rocm/variants.sh: the nvcc flags of the NVIDIA (sm_90a)
# build, in one place, so a variant build differs from the default one only in the switches it adds.
NV_ARCH=(-gencode=arch=compute_90a,code=sm_90a)
# The HIP kernels (native-rocm/kernels/*.hip) through the portability header.
NV_KERNEL=(-x cu -c -O3 --use_fast_math -std=c++17 "${NV_ARCH[@]}" -Xcompiler -fPIC,-Wall -Werror all-warnings)
# The bench binary: its source, then the link against the kernels' objects.
NV_BENCH=(-x cu -O3 -std=c++17 "${NV_ARCH[@]}" -Inative-rocm/kernels -c)
NV_LINK=("${NV_ARCH[@]}" -cudart static)
