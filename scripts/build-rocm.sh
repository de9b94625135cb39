#!/usr/bin/env bash
# Placeholder until the rocm build lands; owned by that part.
set -euo pipefail
echo "build-rocm: nothing to build yet"
