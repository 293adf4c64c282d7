#!/usr/bin/env bash
# The Debian packages each machine of a benchmark topology needs, in one
# place: bench/vm/build-image.sh builds the qemu guest from the `guest` list,
# and the Vagrantfile provisions its machines with `provision.sh ROLE`.
#   provision.sh --list ROLE   print the role's packages
#   provision.sh ROLE          install them (root, apt)
#   provision.sh director [DIR]  ... and build the project in DIR
#   provision.sh real [VIP]      ... and put VIP on lo with arp_ignore and
#                                arp_announce, as Direct Routing needs
# Roles: guest (the qemu VM), director, client, real.
set -euo pipefail

packages() {
  case "$1" in
    # everything runs in namespaces inside the one VM; node and the built
    # tree come from the host over 9p, so no build tools
    guest) echo linux-image-amd64 iproute2 bpftool libbpf1 libelf1 zlib1g ipvsadm netsniff-ng kmod ethtool procps util-linux ;;
    # builds and runs xdpvs (scripts/setup.sh adds the rest), and kernel IPVS
    director) echo ipvsadm iproute2 ethtool make curl ca-certificates rsync ;;
    # sends the traffic
    client) echo netsniff-ng iproute2 ethtool ;;
    # counts what arrives with the XDP sink, loaded by bpftool
    real) echo bpftool iproute2 ethtool ;;
    *) echo "provision.sh: unknown role '$1' (guest, director, client, real)" >&2; return 2 ;;
  esac
}

if [ "${1:-}" = --list ]; then
  packages "${2:?provision.sh --list ROLE}"
  exit 0
fi

role="${1:?usage: provision.sh [--list] ROLE}"
pkgs=$(packages "$role")
[ "$(id -u)" = 0 ] || { echo "provision.sh: run as root" >&2; exit 1; }
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
# shellcheck disable=SC2086
apt-get install -y -qq --no-install-recommends $pkgs >/dev/null

if [ "$role" = director ]; then
  # Debian's own Node.js and npm: the agent supports Debian 12's Node 18,
  # and no package source outside Debian's archive is needed
  apt-get install -y -qq --no-install-recommends nodejs npm >/dev/null
  # scripts/setup.sh (via make) installs the build packages and runs npm ci
  if [ -n "${2:-}" ]; then
    make -C "$2" build
  fi
fi

if [ "$role" = real ] && [ -n "${2:-}" ]; then
  printf 'net.ipv4.conf.all.arp_ignore = 1\nnet.ipv4.conf.all.arp_announce = 2\n' >/etc/sysctl.d/90-xdpvs-real.conf
  sysctl -q -p /etc/sysctl.d/90-xdpvs-real.conf
  ip addr replace "$2/32" dev lo
fi
