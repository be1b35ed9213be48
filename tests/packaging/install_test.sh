#!/usr/bin/env bash
# The .deb on a throw-away Debian 12 root: install, run the installed turnd as user turnd with
# the installed config, Binding + relay with a credential from the installed turnctl mint,
# upgrade to a higher version (config edit and secret kept), purge (user, secret, config gone).
#   install_test.sh SOURCE_DIR BUILD_DIR
# Exit 77 (skipped) when no Debian root can be made (not root, no mirror and no cache).
# The root is a chroot: same network namespace as the host, no systemd as PID 1, so the
# maintainer scripts do not start the service and the test starts turnd itself on loopback.
set -euo pipefail
SRC=$(cd "$1" && pwd)
BUILD=$(cd "$2" && pwd)
WORK=$BUILD/packaging-test/install
ROOT=$WORK/root
CACHE=${TURND_DEBOOTSTRAP_CACHE:-${HOME:-/root}/.cache/turnd-debootstrap}
VERSION=$(sed -n 's/^set(CPACK_PACKAGE_VERSION "\(.*\)")$/\1/p' "$BUILD/CPackConfig.cmake")
TURND_PID=

step() { echo "--- $(date +%T) $*"; }
fail() { echo "FAILED: $*" >&2; exit 1; }
in_root() { chroot "$ROOT" /usr/bin/env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin LC_ALL=C.UTF-8 \
  DEBIAN_FRONTEND=noninteractive "$@"; }

# Processes started inside this test's root (turnd under runuser), found by their root dir.
kill_in_root() {
  local p
  for p in /proc/[0-9]*; do
    [ "$(readlink "$p/root" 2>/dev/null)" = "$ROOT" ] && kill -9 "${p#/proc/}" 2>/dev/null
  done
  return 0
}

cleanup() {
  if [ -n "$TURND_PID" ]; then kill -9 "$TURND_PID" 2>/dev/null || true; fi
  kill_in_root
  if mountpoint -q "$ROOT/proc" 2>/dev/null; then umount "$ROOT/proc" || umount -l "$ROOT/proc"; fi
  if [ -z "${KEEP_ROOT:-}" ]; then rm -rf "$WORK"; fi
}
trap cleanup EXIT

deb=$(ls "$BUILD"/packages/turnd_*.deb 2>/dev/null | head -n1)
[ -f "$deb" ] || fail "no package in $BUILD/packages (the packaging.build fixture makes it)"

step "Debian 12 root from cache $CACHE"
"$SRC/tests/packaging/debian_root.sh" "$ROOT" # exits 77 when it cannot
mount -t proc proc "$ROOT/proc"

# Library packages downloaded by an earlier run, so a warm run needs no network.
mkdir -p "$CACHE/archives"
cp -n "$CACHE"/archives/*.deb "$ROOT/var/cache/apt/archives/" 2>/dev/null || true

apt_install() {
  in_root apt-get install -y -q -o Dpkg::Options::=--force-confold "$@" >"$WORK/apt.log" 2>&1 \
    || { tail -30 "$WORK/apt.log" >&2; fail "apt-get install $* in the Debian root"; }
  cp -n "$ROOT"/var/cache/apt/archives/*.deb "$CACHE/archives/" 2>/dev/null || true
}

step "apt-get install ./$(basename "$deb")"
cp "$deb" "$ROOT/tmp/"
apt_install "./tmp/$(basename "$deb")"

step "user, files and modes"
passwd_line=$(in_root getent passwd turnd) || fail "no user turnd"
in_root getent group turnd >/dev/null || fail "no group turnd"
IFS=: read -r _ _ uid _ _ home shell <<<"$passwd_line"
[ "$uid" -lt 1000 ] || fail "turnd is not a system user (uid $uid)"
[ "$home" = /var/lib/turnd ] || fail "home of turnd is $home"
case "$shell" in */nologin | /bin/false) ;; *) fail "turnd has a login shell: $shell" ;; esac
expect_mode() { # FILE MODE OWNER:GROUP
  local got
  got=$(in_root stat -c '%a %U:%G' "$1") || fail "$1 missing"
  [ "$got" = "$2 $3" ] || fail "$1 is $got, expected $2 $3"
}
expect_mode /etc/turnd/turnd.yaml 640 root:turnd
expect_mode /etc/turnd/secret 640 root:turnd
expect_mode /var/lib/turnd 700 turnd:turnd
expect_mode /usr/bin/turnd 755 root:root
expect_mode /usr/bin/turnctl 755 root:root
expect_mode /usr/lib/systemd/system/turnd.service 644 root:root
for f in /usr/share/man/man8/turnd.8.gz /usr/share/man/man1/turnctl.1.gz \
  /usr/share/man/man5/turnd.yaml.5.gz /usr/share/doc/turnd/copyright; do
  [ -f "$ROOT$f" ] || fail "$f not installed"
done
grep -q '^  secret_file: /etc/turnd/secret$' "$ROOT/etc/turnd/turnd.yaml" \
  || fail "the installed config does not name /etc/turnd/secret"
secret=$(grep -v '^#' "$ROOT/etc/turnd/secret" | head -n1)
[ "${#secret}" -ge 40 ] || fail "generated secret too short (${#secret} characters)"
grep -rqF -- "$secret" "$ROOT/usr" && fail "the generated secret is in the package's files"
in_root runuser -u nobody -- cat /etc/turnd/secret >/dev/null 2>&1 \
  && fail "user nobody can read /etc/turnd/secret"
got=$(in_root turnd --version)
[ "$got" = "turnd $VERSION" ] || fail "turnd --version printed '$got', expected 'turnd $VERSION'"
got=$(in_root turnctl --version)
[ "$got" = "turnctl $VERSION" ] || fail "turnctl --version printed '$got'"
in_root runuser -u turnd -- turnd --config /etc/turnd/turnd.yaml --check-config >"$WORK/check.log" 2>&1 \
  || { cat "$WORK/check.log" >&2; fail "the installed config does not load as user turnd"; }

# Loopback ports no other test uses at the same time: the chroot shares the host's network.
read -r PORT RELAY_LO RELAY_HI < <(python3 - <<'PY'
import random, socket
def free(port):
    for kind in (socket.SOCK_DGRAM, socket.SOCK_STREAM):
        s = socket.socket(socket.AF_INET, kind)
        try:
            s.bind(("127.0.0.1", port))
        except OSError:
            return False
        finally:
            s.close()
    return True
for _ in range(200):
    base = random.randrange(21000, 29000, 50)
    if all(free(p) for p in range(base, base + 21)):
        print(base, base + 1, base + 20)
        break
PY
)
[ -n "${PORT:-}" ] || fail "no free loopback ports"

run_turnd() {
  step "installed turnd as user turnd on 127.0.0.1:$PORT (relay $RELAY_LO-$RELAY_HI)"
  chroot "$ROOT" /usr/bin/env -i PATH=/usr/sbin:/usr/bin LC_ALL=C.UTF-8 \
    runuser -u turnd -- /usr/bin/turnd --config /etc/turnd/turnd.yaml --listen "127.0.0.1:$PORT" \
    --relay-ports "$RELAY_LO-$RELAY_HI" --allow-peer 127.0.0.0/8 --threads 1 \
    >"$WORK/turnd.log" 2>&1 &
  TURND_PID=$!
  for _ in $(seq 50); do
    if grep -q "listening" "$WORK/turnd.log"; then break; fi
    kill -0 "$TURND_PID" 2>/dev/null || { cat "$WORK/turnd.log" >&2; fail "turnd exited"; }
    sleep 0.1
  done
  grep -q "listening" "$WORK/turnd.log" || { cat "$WORK/turnd.log" >&2; fail "turnd did not start"; }
  step "Binding and relay with a credential from the installed turnctl mint"
  in_root turnctl mint --user alice --host 127.0.0.1 >"$WORK/mint.json" 2>"$WORK/mint.err" \
    || { cat "$WORK/mint.err" >&2; fail "turnctl mint"; }
  python3 "$SRC/tests/packaging/relay_check.py" "$PORT" <"$WORK/mint.json" \
    || { cat "$WORK/turnd.log" >&2; fail "Binding/relay through the installed turnd"; }
  # runuser forks: the server is its child, running as turnd.
  local pid
  pid=$(pgrep -n -f "^/usr/bin/turnd --config /etc/turnd/turnd.yaml --listen 127.0.0.1:$PORT") \
    || fail "no turnd process"
  [ "$(stat -c %u "/proc/$pid")" = "$uid" ] || fail "turnd runs as uid $(stat -c %u "/proc/$pid"), not turnd ($uid)"
  # SIGINT: exit at once (SIGTERM would drain the test's allocation for shutdown_grace).
  kill -INT "$pid"
  for _ in $(seq 100); do kill -0 "$TURND_PID" 2>/dev/null || break; sleep 0.1; done
  kill -0 "$TURND_PID" 2>/dev/null && fail "turnd did not exit within 10 s of SIGINT"
  TURND_PID=
}
run_turnd

step "upgrade to a higher version: config edit and secret kept"
sed -i 's/^realm: turnd.local$/realm: upgrade.example/' "$ROOT/etc/turnd/turnd.yaml"
IFS=. read -r major minor patch <<<"$VERSION"
NEXT=$major.$minor.$((patch + 1))
cpack --config "$BUILD/CPackConfig.cmake" -G DEB -D CPACK_PACKAGE_VERSION="$NEXT" \
  -B "$WORK/next" >"$WORK/cpack.log" 2>&1 || { tail -20 "$WORK/cpack.log" >&2; fail "cpack $NEXT"; }
next_deb=$(ls "$WORK"/next/turnd_"$NEXT"-*.deb) || fail "no $NEXT package"
cp "$next_deb" "$ROOT/tmp/"
apt_install "./tmp/$(basename "$next_deb")"
got=$(in_root dpkg-query -W -f='${Version}' turnd)
case "$got" in "$NEXT"-*) ;; *) fail "installed version $got after the upgrade to $NEXT" ;; esac
grep -q '^realm: upgrade.example$' "$ROOT/etc/turnd/turnd.yaml" || fail "the upgrade lost the config edit"
[ "$(grep -v '^#' "$ROOT/etc/turnd/secret" | head -n1)" = "$secret" ] || fail "the upgrade changed the secret"
expect_mode /etc/turnd/turnd.yaml 640 root:turnd
expect_mode /etc/turnd/secret 640 root:turnd
run_turnd

step "apt-get purge turnd"
in_root apt-get purge -y -q turnd >"$WORK/purge.log" 2>&1 || { tail -30 "$WORK/purge.log" >&2; fail "purge"; }
in_root getent passwd turnd >/dev/null && fail "user turnd left after purge"
in_root getent group turnd >/dev/null && fail "group turnd left after purge"
for f in /etc/turnd /var/lib/turnd /usr/bin/turnd /usr/bin/turnctl /usr/lib/systemd/system/turnd.service; do
  [ -e "$ROOT$f" ] && fail "$f left after purge"
done
step "install, run, upgrade and purge: all good"
