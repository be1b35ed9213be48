#!/usr/bin/env bash
# The man pages keep up with the programs: every option in `turnd --help` is in turnd(8), every
# turnctl command and global option in turnctl(1), and the pages render without warnings.
#   man_pages_check.sh SOURCE_DIR BUILD_DIR
set -euo pipefail
SRC=$(cd "$1" && pwd)
BUILD=$(cd "$2" && pwd)
MAN=$SRC/packaging/man
status=0
# roff writes a minus as \- : compare against the text with those unescaped.
page_text() { sed 's/\\-/-/g' "$1"; }

check_flags() { # PAGE HELP_TEXT
  local page=$1 flag text
  text=$(page_text "$page")
  for flag in $(grep -oE -- '--[a-z][a-z0-9-]+' <<<"$2" | sort -u); do
    if ! grep -qE -- "(^|[^a-z-])$flag([^a-z-]|$)" <<<"$text"; then
      echo "FAILED: $flag (in --help) is not documented in $(basename "$page")" >&2
      status=1
    fi
  done
}
check_flags "$MAN/turnd.8" "$("$BUILD/server/turnd" --help)"
turnctl_help=$("$BUILD/tools/turnctl" --help)
check_flags "$MAN/turnctl.1" "$turnctl_help"
turnctl_page=$(page_text "$MAN/turnctl.1")
for cmd in $(sed -n '/^Subcommands:/,$p' <<<"$turnctl_help" | awk 'NR > 1 && NF { print $1 }'); do
  grep -qE "^\.B $cmd( |$)" <<<"$turnctl_page" \
    || { echo "FAILED: turnctl $cmd is not documented in turnctl.1" >&2; status=1; }
done

if command -v man >/dev/null; then
  for page in "$BUILD"/packaging/man/*.gz; do
    warnings=$(LC_ALL=C.UTF-8 MANROFFSEQ='' MANWIDTH=80 man --warnings -E UTF-8 -l -Tutf8 -Z \
      "$page" 2>&1 >/dev/null || true)
    if [ -n "$warnings" ]; then
      echo "FAILED: $(basename "$page") renders with warnings:" >&2
      echo "$warnings" >&2
      status=1
    fi
  done
fi
[ "$status" = 0 ] && echo "man pages: every option documented, no rendering warnings"
exit $status
