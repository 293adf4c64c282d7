#!/usr/bin/env bash
# Prints the Debian archive this machine's apt uses (the URI that serves
# Debian's "main" component for the release, not the security archive), so
# that the roots and images the tests build with debootstrap come from the
# same mirror as the machine's own packages. Reads deb822 .sources files and
# one-line .list files. XDPVS_DEBIAN_MIRROR overrides it.
#   debian-mirror.sh
set -euo pipefail
if [ -n "${XDPVS_DEBIAN_MIRROR:-}" ]; then
  echo "$XDPVS_DEBIAN_MIRROR"
  exit 0
fi
shopt -s nullglob
candidates() {
  # deb822: a stanza's URIs apply to its Suites and Components
  for f in /etc/apt/sources.list.d/*.sources; do
    awk 'BEGIN { RS = ""; FS = "\n" }
      {
        types = ""; uris = ""; suites = ""; comps = ""; enabled = "yes"
        for (i = 1; i <= NF; i++) {
          line = $i
          if (line ~ /^#/) continue
          key = tolower(line); sub(/:.*/, "", key)
          val = line; sub(/^[^:]*:[ \t]*/, "", val)
          if (key == "types") types = val
          else if (key == "uris") uris = val
          else if (key == "suites") suites = val
          else if (key == "components") comps = val
          else if (key == "enabled") enabled = tolower(val)
        }
        if (enabled == "no" || types !~ /(^| )deb( |$)/) next
        n = split(uris, u, /[ \t]+/)
        for (j = 1; j <= n; j++) print u[j] "\t" suites "\t" comps
      }' "$f"
  done
  for f in /etc/apt/sources.list /etc/apt/sources.list.d/*.list; do
    [ -f "$f" ] || continue
    # deb [options] URI SUITE COMPONENT...
    sed -E 's/#.*//; s/\[[^]]*\]//' "$f" | awk '$1 == "deb" { c = ""; for (i = 4; i <= NF; i++) c = c " " $i; print $2 "\t" $3 "\t" c }'
  done
}
# the release's own suite with main; security and update suites are not full archives
mirror=$(candidates | awk -F '\t' '$2 ~ /(^| )bookworm( |$)/ && $3 ~ /(^| )main( |$)/ { print $1; exit }')
if [ -z "$mirror" ]; then
  echo "debian-mirror.sh: no apt source serves Debian bookworm main (set XDPVS_DEBIAN_MIRROR)" >&2
  exit 1
fi
echo "${mirror%/}"
