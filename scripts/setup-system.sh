#!/usr/bin/env bash
# Installs the system packages sinkrt's build and tests need on a fresh Debian 12 (bookworm) machine.
# Idempotent; needs root. Everything comes from Debian's own archive (no other downloads):
#   mesa-vulkan-drivers (bookworm-backports, Mesa 25): lavapipe, the software Vulkan adapter Dawn runs on
#                        without a GPU (Debian 12's Mesa 22.3 lavapipe gives Dawn no adapter).
#   emscripten         : builds the CPU backend's C++ kernels to WASM SIMD.
#   hipcc, libamdhip64-dev: compile-checks the HIP kernels for AMD targets (gfx90a, gfx940, gfx1030).
#   chromium           : the portable (browser) conformance harness, WebGPU on SwiftShader.
set -euo pipefail
export DEBIAN_FRONTEND=noninteractive
need=()
dpkg -s emscripten >/dev/null 2>&1 || need+=(emscripten)
dpkg -s hipcc >/dev/null 2>&1 || need+=(hipcc)
dpkg -s libamdhip64-dev >/dev/null 2>&1 || need+=(libamdhip64-dev)
dpkg -s chromium >/dev/null 2>&1 || need+=(chromium)
lvp_ok() { dpkg-query -W -f='${Version}' mesa-vulkan-drivers 2>/dev/null | grep -q '^25\.'; }
if [ ${#need[@]} -eq 0 ] && lvp_ok; then echo "setup-system: all system packages present"; exit 0; fi
src=/etc/apt/sources.list.d/debian.sources
bpo=/etc/apt/sources.list.d/sinkrt-backports.sources
if ! lvp_ok && [ ! -f "$bpo" ]; then
  uri=$(awk '/^URIs:/ {print $2; exit}' "$src" 2>/dev/null || true)
  [ -n "$uri" ] || uri=http://deb.debian.org/debian
  printf 'Types: deb\nURIs: %s\nSuites: bookworm-backports\nComponents: main\nSigned-By: /usr/share/keyrings/debian-archive-keyring.gpg\n' "$uri" > "$bpo"
fi
apt-get update -qq
if [ ${#need[@]} -gt 0 ]; then apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null; fi
lvp_ok || apt-get install -y -qq -t bookworm-backports mesa-vulkan-drivers libvulkan1 >/dev/null
echo "setup-system: installed ${need[*]:-} mesa-vulkan-drivers $(dpkg-query -W -f='${Version}' mesa-vulkan-drivers)"
