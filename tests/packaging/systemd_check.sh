#!/usr/bin/env bash
# The packaged unit: `systemd-analyze security --offline=true` scores 2.0 or lower and
# `systemd-analyze verify` is clean.   systemd_check.sh SOURCE_DIR BUILD_DIR
# verify checks that ExecStart's binary and the Documentation= man pages exist, so it runs on
# the unit as packaged, unpacked from the .deb into a temporary root, with its /usr/bin paths
# pointed into that root (a copy; the unit itself is not changed) and MANPATH at its man pages.
set -euo pipefail
SRC=$(cd "$1" && pwd)
BUILD=$(cd "$2" && pwd)
MAX_EXPOSURE=2.0
command -v systemd-analyze >/dev/null || { echo "SKIPPED: systemd-analyze not installed"; exit 77; }
WORK=$(mktemp -d "$BUILD/systemd-check.XXXXXX")
trap 'rm -rf "$WORK"' EXIT

dpkg-deb -x "$(ls "$BUILD"/packages/turnd_*.deb)" "$WORK/root"
unit=$WORK/root/usr/lib/systemd/system/turnd.service
cmp "$unit" "$SRC/packaging/turnd.service" || { echo "FAILED: packaged unit differs from packaging/turnd.service" >&2; exit 1; }

status=0
report=$(systemd-analyze security --offline=true --no-pager "$unit" 2>&1) || true
score=$(sed -n 's/.*Overall exposure level for [^:]*: \([0-9.]*\).*/\1/p' <<<"$report")
echo "security: exposure $score (at most $MAX_EXPOSURE)"
if [ -z "$score" ] || awk -v s="$score" -v m="$MAX_EXPOSURE" 'BEGIN { exit !(s > m) }'; then
  echo "$report" >&2
  echo "FAILED: systemd-analyze security --offline=true: exposure '$score' > $MAX_EXPOSURE" >&2
  status=1
fi

mkdir -p "$WORK/verify"
sed "s|/usr/bin/turnd|$WORK/root/usr/bin/turnd|g" "$unit" >"$WORK/verify/turnd.service"
out=$(cd "$WORK/verify" && MANPATH="$WORK/root/usr/share/man" \
  systemd-analyze verify --man=yes "$WORK/verify/turnd.service" 2>&1) || { echo "$out" >&2; status=1; }
# verify also reports problems of other units it loads (the host's); ours must be clean.
ours=$(grep -F "turnd.service" <<<"$out" || true)
if [ -n "$ours" ]; then
  echo "$ours" >&2
  echo "FAILED: systemd-analyze verify reports the unit" >&2
  status=1
fi
[ "$status" = 0 ] && echo "verify: clean"
exit $status
