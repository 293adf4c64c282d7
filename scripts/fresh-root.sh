#!/usr/bin/env bash
# Fresh Debian 12 roots for the fresh test layer (run as root). Layers are
# cached directories; every run mounts an overlay on top of them, so a run
# starts from the same fresh state and leaves nothing behind.
#   fresh-root.sh layer NAME        build (or reuse) a cached layer:
#       base     debootstrap minbase from this machine's Debian mirror
#       machine  base + what a fresh machine of ours has before any set-up:
#                python3, make, g++ (Debian's), this machine's Node.js and npm
#                with its npm configuration
#       vm       base + a kernel, systemd, man-db (a director's usual tools)
#                and what the VM test drives it with
#   fresh-root.sh run LAYER [--tree DIR] [--file SRC:DST]... -- CMD...
#       CMD in a chroot of a fresh overlay of LAYER; --tree copies this
#       project's files (tracked and untracked-not-ignored, as a clone has
#       them) to DIR inside; --file copies one file in.
#   fresh-root.sh image LAYER OUT [--file SRC:DST]... -- CMD...
#       like run, then writes the root as OUT/root.img (ext4) with its
#       kernel and initrd beside it, for qemu.
# Downloads are cached across runs (apt archives, npm cache) under the cache
# directory, $XDPVS_CACHE/fresh (default /var/cache/xdpvs/fresh), outside the
# tree so that every clone on this machine reuses them.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
top="$(cd "$here/.." && pwd)"
cache="${XDPVS_CACHE:-/var/cache/xdpvs}/fresh"
suite=bookworm
# bump a layer's revision when what builds it changes: the cache is rebuilt
BASE_REV=1
MACHINE_REV=2
VM_REV=2
[ "$(id -u)" = 0 ] || { echo "fresh-root.sh: run as root (debootstrap, mounts, chroot)" >&2; exit 1; }
mkdir -p "$cache/apt-archives/partial" "$cache/npm"
# private mount and PID namespaces: no mount made here reaches the host's,
# and when this script ends, however it ends (a test's timeout kills it),
# the kernel ends every process started in the roots and drops every mount.
# /proc is the namespace's own, so the clean-up below sees only those.
if [ -z "${XDPVS_FRESH_NS:-}" ]; then
  # a run killed before its clean-up (SIGKILL) leaves its scratch directory,
  # named after its process: gone processes' are removed
  for d in "$cache"/run.*; do
    [ -d "$d" ] || continue
    pid="${d##*/run.}"
    [ -d "/proc/${pid%%.*}" ] || rm -rf "$d"
  done
  XDPVS_FRESH_NS=1 XDPVS_FRESH_OWNER=$$ exec unshare --mount --propagation private --pid --fork --kill-child --mount-proc "$0" "$@"
fi

need() {
  local missing=()
  for p in "$@"; do dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p"); done
  if [ ${#missing[@]} -gt 0 ]; then
    echo "fresh-root.sh: installing ${missing[*]}" >&2
    DEBIAN_FRONTEND=noninteractive apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
  fi
}

# --- mounts: every one is recorded and undone in reverse, even on failure ---
mounts=()
tmpdirs=()
mnt() { mount "$@"; mounts+=("${!#}"); }
cleanup() {
  local i p
  for ((i = ${#mounts[@]} - 1; i >= 0; i--)); do
    # nothing may outlive the root: processes started in it (a daemon a
    # package started against policy-rc.d, say) are killed first
    for p in /proc/[0-9]*; do
      [ "$(readlink "$p/root" 2>/dev/null)" = "${mounts[$i]}" ] && kill -9 "${p#/proc/}" 2>/dev/null || true
    done
    umount "${mounts[$i]}" 2>/dev/null || umount -l "${mounts[$i]}" 2>/dev/null || true
  done
  mounts=()
  for d in "${tmpdirs[@]}"; do rm -rf "$d"; done
  tmpdirs=()
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# lowerdir of a layer: itself over everything below it
lower_of() {
  case "$1" in
    base) echo "$cache/base" ;;
    machine | vm) echo "$cache/$1:$cache/base" ;;
    *) echo "fresh-root.sh: unknown layer '$1' (base, machine, vm)" >&2; return 2 ;;
  esac
}

# mounts a fresh overlay of LAYER at $merged, with what a chroot needs
open_root() {
  local layer="$1" lower
  lower="$(lower_of "$layer")"
  scratch="$(mktemp -d "$cache/run.$XDPVS_FRESH_OWNER.XXXXXX")"
  tmpdirs+=("$scratch")
  mkdir -p "$scratch/upper" "$scratch/work" "$scratch/merged"
  merged="$scratch/merged"
  mnt -t overlay overlay -o "lowerdir=$lower,upperdir=$scratch/upper,workdir=$scratch/work" "$merged"
  mnt -t proc proc "$merged/proc"
  mnt -t sysfs -o ro sysfs "$merged/sys"
  mnt --bind /dev "$merged/dev"
  mnt -t devpts -o newinstance,ptmxmode=0666 devpts "$merged/dev/pts"
  mnt -t tmpfs tmpfs "$merged/dev/shm"
  mnt -t tmpfs tmpfs "$merged/run"
  mnt --bind "$cache/apt-archives" "$merged/var/cache/apt/archives"
  mkdir -p "$merged/root/.npm"
  mnt --bind "$cache/npm" "$merged/root/.npm"
  rm -f "$merged/etc/resolv.conf"
  cp -L /etc/resolv.conf "$merged/etc/resolv.conf"
}

# unmounts what open_root mounted inside the root, keeping the overlay
close_api_mounts() {
  local keep=("${mounts[0]}") i p
  for ((i = ${#mounts[@]} - 1; i >= 1; i--)); do
    for p in /proc/[0-9]*; do
      [ "$(readlink "$p/root" 2>/dev/null)" = "$merged" ] && kill -9 "${p#/proc/}" 2>/dev/null || true
    done
    umount "${mounts[$i]}" || umount -l "${mounts[$i]}"
  done
  mounts=("${keep[@]}")
}

in_root() {
  chroot "$merged" /usr/bin/env -i HOME=/root LANG=C.UTF-8 TERM=dumb DEBIAN_FRONTEND=noninteractive \
    PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin "$@"
}

copy_file() {
  local src="${1%%:*}" dst="${1#*:}"
  mkdir -p "$merged$(dirname "$dst")"
  cp -L "$src" "$merged$dst"
}

copy_tree() {
  mkdir -p "$merged$1"
  (cd "$top" && git ls-files -z --cached --others --exclude-standard | while IFS= read -r -d '' f; do [ -e "$f" ] && printf '%s\0' "$f"; done |
    tar --null -cf - -T -) | tar -C "$merged$1" -xf -
}

# --- layers ---
stamp_ok() { [ -f "$1/.layer" ] && [ "$(cat "$1/.layer")" = "$2" ]; }

build_base() {
  local mirror stamp dir="$cache/base"
  mirror="$("$here/debian-mirror.sh")"
  stamp="$suite minbase $mirror rev=$BASE_REV"
  stamp_ok "$dir" "$stamp" && return 0
  need debootstrap
  echo "fresh-root.sh: debootstrap $suite from $mirror (a few minutes, once)" >&2
  rm -rf "$dir" "$cache/machine" "$cache/vm"
  debootstrap --variant=minbase "$suite" "$dir" "$mirror" >"$cache/debootstrap.log" 2>&1 ||
    { tail -20 "$cache/debootstrap.log" >&2; echo "fresh-root.sh: debootstrap failed" >&2; exit 1; }
  # a chroot is not a booted machine: packages never start daemons in it
  printf '#!/bin/sh\nexit 101\n' >"$dir/usr/sbin/policy-rc.d"
  chmod 0755 "$dir/usr/sbin/policy-rc.d"
  rm -f "$dir"/var/cache/apt/archives/*.deb
  echo "$stamp" >"$dir/.layer"
}

# a layer = the upper directory of an overlay on base, after CMD ran in it
build_layer() {
  local name="$1" stamp="$2"
  shift 2
  local dir="$cache/$name"
  stamp_ok "$dir" "$stamp" && return 0
  echo "fresh-root.sh: building the $name layer (once)" >&2
  rm -rf "$dir" "$dir.new"
  open_root base
  "$@"
  close_api_mounts
  cleanup_overlay_to "$dir.new"
  echo "$stamp" >"$dir.new/.layer"
  mv "$dir.new" "$dir"
}

cleanup_overlay_to() {
  local upper="$scratch/upper"
  umount "$merged"
  mounts=()
  # the chroot's own copies of what open_root put in
  rm -f "$upper/etc/resolv.conf"
  mv "$upper" "$1"
}

node_files() {
  # this machine's Node.js: its package's files when dpkg owns it, and npm
  # as it is now (a machine may have upgraded it after the package put it there)
  local node pkg npmdir
  node="$(readlink -f "$(command -v node)")"
  if pkg=$(dpkg -S "$node" 2>/dev/null | cut -d: -f1 | head -1) && [ -n "$pkg" ]; then
    dpkg -L "$pkg" | while read -r f; do if [ -f "$f" ] || [ -L "$f" ]; then echo "$f"; fi; done
  else
    echo "$node"
  fi
  npmdir="$(npm root -g)/npm"
  find "$npmdir" \( -type f -o -type l \) -print
  for b in npm npx; do [ -e "$(dirname "$node")/$b" ] && echo "$(dirname "$node")/$b"; done
  return 0
}

machine_setup() {
  in_root apt-get update -qq
  in_root apt-get install -y -qq --no-install-recommends python3 make g++ ca-certificates >/dev/null
  node_files | tar -cf - --no-recursion -P -T - | tar -C "$merged" -xf - 2>/dev/null
  # the certificate authorities this machine trusts locally (a registry
  # behind a TLS-inspecting proxy needs them)
  if compgen -G '/usr/local/share/ca-certificates/*.crt' >/dev/null; then
    cp /usr/local/share/ca-certificates/*.crt "$merged/usr/local/share/ca-certificates/"
    in_root update-ca-certificates >/dev/null
  fi
  # npm as this machine has it configured (registry, cafile, nodedir, ...)
  local f
  for f in "$(npm config get globalconfig 2>/dev/null)" "$(npm config get userconfig 2>/dev/null)"; do
    [ -f "$f" ] && copy_file "$f:$f"
  done
  in_root node --version >/dev/null
  in_root npm --version >/dev/null
}

vm_setup() {
  in_root apt-get update -qq
  in_root apt-get install -y -qq --no-install-recommends linux-image-amd64 systemd systemd-sysv udev kmod \
    iproute2 procps ethtool man-db >/dev/null
}

layer() {
  build_base
  case "$1" in
    base) ;;
    machine) build_layer machine "node=$(node --version) npm=$(npm --version 2>/dev/null) rev=$MACHINE_REV" machine_setup ;;
    vm) build_layer vm "rev=$VM_REV" vm_setup ;;
    *) lower_of "$1" >/dev/null ;;
  esac
}

cmd="${1:-}"
shift || true
case "$cmd" in
  layer)
    layer "${1:?fresh-root.sh layer NAME}"
    ;;
  run | image)
    name="${1:?fresh-root.sh $cmd LAYER ...}"
    shift
    [ "$cmd" = image ] && { out="${1:?fresh-root.sh image LAYER OUT ...}"; shift; }
    tree=""
    files=()
    while [ $# -gt 0 ] && [ "$1" != -- ]; do
      case "$1" in
        --tree) tree="$2"; shift 2 ;;
        --file) files+=("$2"); shift 2 ;;
        *) echo "fresh-root.sh: unknown option $1" >&2; exit 2 ;;
      esac
    done
    [ "${1:-}" = -- ] && shift
    layer "$name"
    open_root "$name"
    [ -n "$tree" ] && copy_tree "$tree"
    for f in "${files[@]}"; do copy_file "$f"; done
    status=0
    in_root "$@" || status=$?
    if [ "$cmd" = image ] && [ "$status" = 0 ]; then
      need e2fsprogs
      close_api_mounts
      mkdir -p "$out"
      cp "$(ls "$merged"/boot/vmlinuz-* | sort -V | tail -1)" "$out/vmlinuz"
      cp "$(ls "$merged"/boot/initrd.img-* | sort -V | tail -1)" "$out/initrd.img"
      rm -f "$out/root.img"
      mkfs.ext4 -q -F -L xdpvs-fresh -d "$merged" "$out/root.img" 3G
    fi
    exit "$status"
    ;;
  *)
    echo "usage: fresh-root.sh layer NAME | run LAYER [--tree DIR] [--file SRC:DST]... -- CMD... | image LAYER OUT [...] -- CMD..." >&2
    exit 2
    ;;
esac
