#!/usr/bin/env bash
# Installs what xdpvs needs on Debian 12 (run as root), idempotently: apt
# packages that are missing, then npm ci when the lock file changed.
# Quiet when everything is already there.
set -euo pipefail
cd "$(dirname "$0")/.."

APT_PACKAGES=(
  clang llvm libbpf-dev linux-libc-dev bpftool libelf-dev zlib1g-dev pkg-config
  make g++ python3 iproute2 util-linux ethtool curl dpkg-dev groff-base
  keepalived netsniff-ng
)

missing=()
for p in "${APT_PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  if [ "$(id -u)" != 0 ]; then
    echo "setup: missing Debian packages: ${missing[*]} (run as root, or apt-get install them)" >&2
    exit 1
  fi
  echo "setup: installing ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
  # keepalived is a peer in the VRRP interop tests, not a service of this host
  if printf '%s\n' "${missing[@]}" | grep -qx keepalived; then
    systemctl disable --now keepalived >/dev/null 2>&1 || true
  fi
fi

command -v node >/dev/null || { echo "setup: node (>= 18.19; the test targets use 20) is required" >&2; exit 1; }

# npm ci when node_modules is absent or older than the lock file
if [ ! -f node_modules/.package-lock.json ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  echo "setup: npm ci"
  npm ci --no-audit --no-fund --loglevel=error
fi
