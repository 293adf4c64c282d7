#!/usr/bin/env bash
# Builds the Debian VM of the benchmark and the vm tests (run as root): a
# Debian 12 root file system from debootstrap with the `guest` packages of
# provision.sh, this host's node binary, and a small init that mounts the
# project over 9p and runs bench/vm/guest.sh. Output in DIR (default
# $XDPVS_CACHE/vm, that is /var/cache/xdpvs/vm: outside the tree, so every
# clone on this machine reuses it): vmlinuz, initrd.img, root.img. Cached:
# debootstrap runs once; the image is rebuilt when the package list, the
# node binary or this script change.
#   build-image.sh [DIR]
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
out="${1:-${XDPVS_CACHE:-/var/cache/xdpvs}/vm}"
mirror="$("$here/../../scripts/debian-mirror.sh")"
suite=bookworm
[ "$(id -u)" = 0 ] || { echo "build-image.sh: run as root (debootstrap)" >&2; exit 1; }

"$here/host-tools.sh"

node_bin="$(command -v node)"
pkgs="$("$here/provision.sh" --list guest)"
stamp="suite=$suite pkgs=$pkgs node=$("$node_bin" --version) script=$(sha256sum "$0" | cut -c1-16)"
root="$out/rootfs"
mkdir -p "$out"

if [ ! -f "$root/.debootstrap-done" ] || [ "$(cat "$root/.debootstrap-done")" != "$suite $pkgs" ]; then
  echo "build-image.sh: debootstrap $suite into $root (a few minutes)"
  rm -rf "$root"
  debootstrap --variant=minbase --include="${pkgs// /,}" "$suite" "$root" "$mirror" >"$out/debootstrap.log" 2>&1 ||
    { tail -20 "$out/debootstrap.log" >&2; echo "build-image.sh: debootstrap failed (log: $out/debootstrap.log)" >&2; exit 1; }
  rm -f "$root"/var/cache/apt/archives/*.deb
  echo "$suite $pkgs" >"$root/.debootstrap-done"
fi

if [ -f "$out/root.img" ] && [ "$(cat "$out/image.stamp" 2>/dev/null)" = "$stamp" ]; then
  exit 0
fi

echo "build-image.sh: writing $out/root.img"
install -m 0755 "$node_bin" "$root/usr/local/bin/node"
mkdir -p "$root/xdpvs" "$root/out"
echo xdpvs-debian-vm >"$root/etc/hostname"
cat >"$root/sbin/xdpvs-init" <<'INIT'
#!/bin/sh
# PID 1 of the Debian VM: mount the project (read-only) and the output
# directory over 9p, then run the project's bench/vm/guest.sh. Powers off
# when anything fails, so qemu always exits.
PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
export PATH
mountpoint -q /proc || mount -t proc proc /proc
mountpoint -q /sys || mount -t sysfs sys /sys
mountpoint -q /dev || mount -t devtmpfs dev /dev
modprobe 9pnet_virtio && modprobe 9p &&
  mount -t 9p -o trans=virtio,version=9p2000.L,msize=524288,ro xdpvs /xdpvs &&
  mount -t 9p -o trans=virtio,version=9p2000.L,msize=524288 out /out &&
  /bin/bash /xdpvs/bench/vm/guest.sh
echo "xdpvs-init: guest.sh exited with $?"
sync
echo o >/proc/sysrq-trigger
sleep 60
INIT
chmod 0755 "$root/sbin/xdpvs-init"
cp "$(ls "$root"/boot/vmlinuz-* | sort -V | tail -1)" "$out/vmlinuz"
cp "$(ls "$root"/boot/initrd.img-* | sort -V | tail -1)" "$out/initrd.img"
rm -f "$out/root.img"
mkfs.ext4 -q -F -L xdpvs-bench -d "$root" "$out/root.img" 3G
echo "$stamp" >"$out/image.stamp"
