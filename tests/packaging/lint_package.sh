#!/usr/bin/env bash
# lintian on the .deb or rpmlint on the .rpm: no error, and every warning's tag listed in
# packaging/README.md ("Lint notes") with the reason it stays.
#   lint_package.sh deb|rpm SOURCE_DIR BUILD_DIR
set -euo pipefail
KIND=$1
SRC=$(cd "$2" && pwd)
BUILD=$(cd "$3" && pwd)
NOTES=$SRC/packaging/README.md
case "$KIND" in
  deb)
    pkg=$(ls "$BUILD"/packages/turnd_*.deb)
    command -v lintian >/dev/null || { echo "SKIPPED: lintian not installed (tools/bootstrap.sh test installs it)"; exit 77; }
    out=$(lintian --no-tag-display-limit "$pkg" 2>&1) || true
    # "E: turnd: tag-name detail", "W: turnd: tag-name detail"
    errors=$(grep -E '^E: ' <<<"$out" || true)
    warning_tags=$(sed -n 's/^W: [^:]*: \([^ ]*\).*/\1/p' <<<"$out" | sort -u)
    ;;
  rpm)
    pkg=$(ls "$BUILD"/packages/turnd-*.rpm)
    command -v rpmlint >/dev/null || { echo "SKIPPED: rpmlint not installed (tools/bootstrap.sh test installs it)"; exit 77; }
    out=$(rpmlint -c "$SRC/packaging/rpm/rpmlint.toml" "$pkg" 2>&1) || true
    # "turnd.x86_64: E: tag-name detail"
    errors=$(grep -E '^[^ ]+: E: ' <<<"$out" || true)
    warning_tags=$(sed -n 's/^[^ ]*: W: \([^ ]*\).*/\1/p' <<<"$out" | sort -u)
    ;;
  *) echo "usage: $0 deb|rpm SOURCE_DIR BUILD_DIR" >&2; exit 2 ;;
esac
echo "$out"
status=0
if [ -n "$errors" ]; then
  echo "FAILED: $KIND lint errors:" >&2
  echo "$errors" >&2
  status=1
fi
for tag in $warning_tags; do
  if ! grep -qF "\`$tag\`" "$NOTES"; then
    echo "FAILED: warning $tag is neither fixed nor explained in packaging/README.md" >&2
    status=1
  fi
done
exit $status
