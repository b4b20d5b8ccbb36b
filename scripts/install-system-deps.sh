#!/usr/bin/env bash
# Installs the Debian packages Moviola builds against (OpenBLAS, FFmpeg libraries, pkg-config, FreeType, libcrypt)
# and reads at run time (opencv-data's face cascades),
# only those that are missing. As root it runs apt-get; otherwise it prints the command to run.
set -euo pipefail

packages=(pkg-config libopenblas-dev libavcodec-dev libavformat-dev libavutil-dev libswscale-dev libfreetype-dev opencv-data libcrypt-dev)
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && exit 0

if [ "$(id -u)" -eq 0 ]; then
  echo "moviola: installing ${missing[*]}" >&2
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq >&2
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >&2
else
  echo "moviola: missing system packages. Run:" >&2
  echo "  sudo apt-get update && sudo apt-get install -y ${missing[*]}" >&2
  exit 1
fi
