#!/usr/bin/env bash
# One-time set-up on a fresh Debian/Ubuntu machine: the software WebGPU adapter's system libraries
# (Mesa llvmpipe through OpenGL ES; harmless where a real GPU exists) and the locked npm packages.
# Safe to run again. Set CAMELS_SKIP_APT=1 to skip the system packages.
set -euo pipefail
cd "$(dirname "$0")/.."

pkgs="libegl1 libegl-mesa0 libgles2 libgl1-mesa-dri"
if [ "${CAMELS_SKIP_APT:-0}" != "1" ] && command -v apt-get >/dev/null 2>&1; then
  missing=""
  for p in $pkgs; do dpkg -s "$p" >/dev/null 2>&1 || missing="$missing $p"; done
  if [ -n "$missing" ]; then
    SUDO=""
    [ "$(id -u)" = "0" ] || SUDO="sudo"
    echo "setup: installing$missing" >&2
    $SUDO apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends $missing
  fi
fi
npm ci --no-audit --no-fund
