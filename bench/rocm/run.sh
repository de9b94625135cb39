#!/usr/bin/env bash
# On the GPU machine: runs the benchmark binary (built here by scripts/build-rocm.sh, carried in
# native-rocm/build) and the SDPA baseline, then merges them. Usage: bash bench/rocm/run.sh OUTDIR COMMIT [bench args]
set -euo pipefail
cd "$(dirname "$0")/../.."
out=$1; commit=$2; shift 2
mkdir -p "$out"
native-rocm/build/sinkrt_bench "$@" | tee "$out/bench.jsonl"
PYTHONUNBUFFERED=1 python3 bench/rocm/sdpa.py | tee "$out/sdpa.jsonl"
python3 bench/rocm/report.py "$out/bench.jsonl" "$out/sdpa.jsonl" "$out/rocm-bench.json" "$commit"
