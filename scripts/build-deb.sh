#!/usr/bin/env bash
# Builds the Debian package of a director from a built tree (make build):
# the BPF objects, the addon, the compiled agent and production node_modules
# only, under /usr/lib/xdpvs; /usr/sbin/xdpvs; the systemd unit and its
# environment file; an example configuration; the man page and bash
# completion, generated from the command line itself. No compiler, no test
# tool, no lab. Prints the path of the .deb.
#   build-deb.sh [OUTDIR]        (default build/; DEB_VERSION overrides the version)
set -euo pipefail
top="$(cd "$(dirname "$0")/.." && pwd)"
out="${1:-$top/build}"
cd "$top"

version="${DEB_VERSION:-$(node -p 'require("./package.json").version')}"
arch="$(dpkg --print-architecture)"
for f in bpf/build/lb.bpf.o bpf/build/decap.bpf.o native/build/Release/xdpvs_bridge.node dist/agent/cli/main.js dist/agent/cli/docs.js; do
  [ -f "$f" ] || { echo "build-deb.sh: $f is missing: run make build first" >&2; exit 1; }
done
export SOURCE_DATE_EPOCH="${SOURCE_DATE_EPOCH:-$(git log -1 --format=%ct 2>/dev/null || date +%s)}"

work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
root="$work/root"
lib="$root/usr/lib/xdpvs"
mkdir -p "$lib/bin" "$lib/bpf/build" "$lib/native/build/Release" "$root/usr/sbin" \
  "$root/lib/systemd/system" "$root/etc/default" "$root/etc/xdpvs" "$root/usr/share/man/man8" \
  "$root/usr/share/bash-completion/completions" "$root/usr/share/doc/xdpvs/examples" "$root/DEBIAN"

# production dependencies exactly as the lock file pins them
cp package.json package-lock.json "$lib/"
(cd "$lib" && npm ci --omit=dev --ignore-scripts --no-audit --no-fund --loglevel=error >&2)
rm -f "$lib/package-lock.json"

# the compiled agent and bridge wrapper (the lab and the tests live in test/)
mkdir -p "$lib/dist"
(cd dist && find agent native -name '*.js' -print0 | tar --null -cf - -T -) | tar -C "$lib/dist" -xf -
install -m 0755 bin/xdpvs "$lib/bin/xdpvs"
# BTF stays (the agent checks map layouts against it); DWARF goes
for o in lb decap; do llvm-strip -g -o "$lib/bpf/build/$o.bpf.o" "bpf/build/$o.bpf.o"; done
chmod 0644 "$lib"/bpf/build/*.o
install -m 0644 -s --strip-program=strip native/build/Release/xdpvs_bridge.node "$lib/native/build/Release/"
install -m 0755 deploy/debian/hitless-restart "$lib/hitless-restart"
printf '#!/bin/sh\nexec /usr/bin/node /usr/lib/xdpvs/bin/xdpvs "$@"\n' >"$root/usr/sbin/xdpvs"
chmod 0755 "$root/usr/sbin/xdpvs"

install -m 0644 deploy/debian/xdpvs.service "$root/lib/systemd/system/xdpvs.service"
install -m 0644 deploy/debian/xdpvs.default "$root/etc/default/xdpvs"
install -m 0644 deploy/examples/xdpvs.yaml "$root/etc/xdpvs/xdpvs.yaml"
install -m 0644 deploy/examples/* "$root/usr/share/doc/xdpvs/examples/"
install -m 0644 deploy/debian/copyright "$root/usr/share/doc/xdpvs/copyright"
gzip -9n <README.md >"$root/usr/share/doc/xdpvs/README.md.gz"
node dist/agent/cli/docs.js man | gzip -9n >"$root/usr/share/man/man8/xdpvs.8.gz"
node dist/agent/cli/docs.js bash-completion >"$root/usr/share/bash-completion/completions/xdpvs"

# shared libraries the addon links, as dpkg-shlibdeps names their packages
mkdir -p "$work/src/debian"
printf 'Source: xdpvs\n\nPackage: xdpvs\nArchitecture: any\n' >"$work/src/debian/control"
shlibs=$(cd "$work/src" && dpkg-shlibdeps -O "$lib/native/build/Release/xdpvs_bridge.node" 2>/dev/null | sed -n 's/^shlibs:Depends=//p')
[ -n "$shlibs" ] || { echo "build-deb.sh: dpkg-shlibdeps found no libraries" >&2; exit 1; }

for s in postinst prerm postrm; do install -m 0755 "deploy/debian/$s" "$root/DEBIAN/$s"; done
(cd "$root" && find etc -type f | sed 's|^|/|' | sort) >"$root/DEBIAN/conffiles"
size=$(du -sk --exclude=DEBIAN "$root" | cut -f1)
sed -e "s/@VERSION@/$version/" -e "s/@ARCH@/$arch/" -e "s/@SHLIBS@/$shlibs/" -e "s/@SIZE@/$size/" \
  deploy/debian/control >"$root/DEBIAN/control"
(cd "$root" && find . -path ./DEBIAN -prune -o -type f -printf '%P\0' | sort -z | xargs -0 md5sum) >"$root/DEBIAN/md5sums"
# reproducible: every file dated by the last commit
find "$root" -exec touch -h -d "@$SOURCE_DATE_EPOCH" {} +

mkdir -p "$out"
deb="$out/xdpvs_${version}_${arch}.deb"
dpkg-deb --root-owner-group -Zxz --build "$root" "$deb" >/dev/null
echo "$deb"
