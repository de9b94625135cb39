#!/usr/bin/env bash
# Placeholder until the cpu build lands; owned by that part.
set -euo pipefail
echo "build-cpu: nothing to build yet"
