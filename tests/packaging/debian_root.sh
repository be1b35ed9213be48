#!/usr/bin/env bash
# Makes a throw-away Debian 12 root for the install test, from a cached debootstrap:
#   debian_root.sh DEST      extracts a fresh root into DEST (creating the cache on first use)
# The cache is a tarball of `debootstrap --variant=minbase bookworm` with `apt-get update` done,
# under $TURND_DEBOOTSTRAP_CACHE (default ~/.cache/turnd-debootstrap). The mirror is
# $TURND_DEBIAN_MIRROR, else the first Debian one in this machine's /etc/apt/sources.list*.
# Exit 77 (ctest: skipped) with a message when the root cannot be made: not root, no
# debootstrap, or no mirror reachable.
set -euo pipefail
DEST=${1:?usage: debian_root.sh DEST}
CACHE=${TURND_DEBOOTSTRAP_CACHE:-${HOME:-/root}/.cache/turnd-debootstrap}
TARBALL=$CACHE/bookworm-minbase.tar
SUITE=bookworm

skip() { echo "SKIPPED: $*" >&2; exit 77; }

[ "$(id -u)" = 0 ] || skip "the install test needs root (debootstrap, chroot, mount)"

# First http(s) Debian mirror named in /etc/apt/sources.list*, one-line or deb822 format.
mirror() {
  local files=(/etc/apt/sources.list /etc/apt/sources.list.d/*.list /etc/apt/sources.list.d/*.sources)
  local f
  for f in "${files[@]}"; do
    [ -r "$f" ] || continue
    awk '
      /^[[:space:]]*deb[[:space:]]/ { for (i = 2; i <= NF; i++) if ($i ~ /^https?:\/\//) { print $i; exit } }
      /^URIs:/ { for (i = 2; i <= NF; i++) if ($i ~ /^https?:\/\//) { print $i; exit } }
    ' "$f"
  done | grep -v -- '-security' | head -n1
}

make_cache() {
  command -v debootstrap >/dev/null || skip "debootstrap is not installed (tools/bootstrap.sh test installs it)"
  local url
  url=${TURND_DEBIAN_MIRROR:-$(mirror)}
  [ -n "$url" ] || skip "no Debian mirror in /etc/apt/sources.list*"
  curl -fsS --max-time 15 -o /dev/null "${url%/}/dists/$SUITE/Release" \
    || skip "Debian mirror $url unreachable: cannot debootstrap $SUITE (no cache at $TARBALL)"
  mkdir -p "$CACHE"
  local work
  work=$(mktemp -d "$CACHE/build.XXXXXX")
  trap 'umount "$work/proc" 2>/dev/null || true; rm -rf "$work"' EXIT
  echo "debootstrap --variant=minbase $SUITE from $url (cold cache: a few minutes)" >&2
  timeout 900 debootstrap --variant=minbase "$SUITE" "$work" "$url" >"$CACHE/debootstrap.log" 2>&1 \
    || { tail -20 "$CACHE/debootstrap.log" >&2; echo "debootstrap failed" >&2; exit 1; }
  printf 'deb %s %s main\n' "$url" "$SUITE" >"$work/etc/apt/sources.list"
  timeout 300 chroot "$work" apt-get update -qq
  chroot "$work" apt-get clean # the base packages are installed: no need to keep their .debs
  tar -C "$work" -cf "$TARBALL.tmp" .
  mv "$TARBALL.tmp" "$TARBALL"
  rm -rf "$work"
  trap - EXIT
}

[ -f "$TARBALL" ] || make_cache
rm -rf "$DEST"
mkdir -p "$DEST"
tar -C "$DEST" -xf "$TARBALL"
chmod 0755 "$DEST" # the cache was made in a mktemp -d directory (0700): users need to enter /
