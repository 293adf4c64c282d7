#!/usr/bin/env bash
# Installs what building and booting the qemu VM needs on this host (run as
# root), from this machine's apt sources: debootstrap, qemu-system-x86 and
# e2fsprogs. Quiet when they are there. Called by build-image.sh, and by
# bench/vm.ts before it boots an image someone else built (the fresh test's),
# which may run first on a fresh machine.
set -euo pipefail
missing=()
for p in debootstrap qemu-system-x86 e2fsprogs; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  [ "$(id -u)" = 0 ] || { echo "host-tools.sh: ${missing[*]} missing; run as root to install them" >&2; exit 1; }
  echo "host-tools.sh: installing ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi
