#!/usr/bin/env bash
# Placeholder until the asm build lands; owned by that part.
set -euo pipefail
echo "build-asm: nothing to build yet"
