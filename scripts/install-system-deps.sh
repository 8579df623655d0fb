#!/usr/bin/env bash
# Installs the Debian packages Open3D needs (GL/EGL, Mesa's software Vulkan for offscreen rendering, Xvfb for
# the viewer's tests). Runs apt-get only when something is missing and we are root; otherwise says what to do.
set -euo pipefail
missing=()
for p in "$@"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && exit 0
if ! command -v apt-get >/dev/null; then
  echo "gen3d: no apt-get here; install the equivalents of: ${missing[*]} (needed by Open3D rendering)" >&2
  exit 0
fi
if [ "$(id -u)" -ne 0 ]; then
  echo "gen3d: missing Debian packages: ${missing[*]}" >&2
  echo "gen3d: run: sudo apt-get install -y ${missing[*]}   (rendering and the viewer need them)" >&2
  exit 0
fi
echo "gen3d: installing Debian packages: ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
