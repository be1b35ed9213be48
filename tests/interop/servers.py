#!/usr/bin/python3
"""Launch a TURN server (turnd or coturn) for interop tests.

Selection by environment:
  SERVER=turnd|coturn      which server to run (default: turnd)
  TURND_BIN=/path/turnd    turnd binary (default: <repo>/build/server/turnd)
  COTURN_BIN=/path         coturn binary (default: /usr/bin/turnserver)
  TURN_TEST_LOGDIR=dir     where server logs go (default: a fresh temp dir)
  TURND_EXTRA_ARGS="..."   extra arguments appended to the turnd command line

Library use:
    with TurnServer() as srv:       # picks free ports, waits until ready
        srv.port, srv.realm, srv.secret, srv.rest_credentials("alice")
    # leaving the block stops the server by PID and raises ServerFailure if it
    # died early, died of a signal, or would not stop.

Command-line use (for non-Python tests, e.g. the browser test):
    servers.py run [--timeout S] -- CMD ARGS...
starts the server, runs CMD with TURN_HOST, TURN_PORT, TURN_REALM, TURN_SECRET,
TURN_SERVER_KIND and TURN_RELAY_PORTS in its environment, stops the server and
exits non-zero if CMD failed or the server crashed; the server log is printed
whenever something failed.

Only loopback addresses are used.  Every wait is bounded.
"""

from __future__ import annotations

import base64
import fcntl
import hashlib
import hmac
import os
import random
import shlex
import shutil
import signal
import socket
import struct
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.abspath(os.path.join(HERE, "..", ".."))

# Listening ports come from below the relay windows and below the kernel's
# ephemeral range (32768-60999), so neither clashes with them.
LISTEN_PORT_RANGE = (10000, 19999)
RELAY_PORT_RANGE = (20000, 45000)
LOCK_DIR = os.path.join(tempfile.gettempdir(), "turnd-test-port-locks")

STUN_MAGIC = 0x2112A442


class ServerFailure(Exception):
    """The server under test misbehaved (crashed, exited early, hung on stop)."""


# --------------------------------------------------------------------------
# Port picking with cross-process locks (so parallel ctest runs never pick the
# same listening port or relay window).


class _PortLock:
    def __init__(self, name: str):
        os.makedirs(LOCK_DIR, exist_ok=True)
        self.path = os.path.join(LOCK_DIR, name + ".lock")
        self.fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o666)
        try:
            fcntl.flock(self.fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            os.close(self.fd)
            self.fd = -1
            raise

    def release(self) -> None:
        if self.fd >= 0:
            fcntl.flock(self.fd, fcntl.LOCK_UN)
            os.close(self.fd)
            self.fd = -1


def _port_free(host: str, port: int, udp: bool = True, tcp: bool = True) -> bool:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    kinds = []
    if udp:
        kinds.append(socket.SOCK_DGRAM)
    if tcp:
        kinds.append(socket.SOCK_STREAM)
    for kind in kinds:
        s = socket.socket(family, kind)
        try:
            if kind == socket.SOCK_STREAM:
                s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            s.bind((host, port))
        except OSError:
            return False
        finally:
            s.close()
    return True


def pick_port(host: str = "127.0.0.1", tries: int = 200):
    """A port free on both UDP and TCP, with a held lock. Returns (port, lock)."""
    lo, hi = LISTEN_PORT_RANGE
    for _ in range(tries):
        port = random.randint(lo, hi)
        try:
            lock = _PortLock("port-%d" % port)
        except OSError:
            continue
        if _port_free(host, port):
            return port, lock
        lock.release()
    raise RuntimeError("no free UDP+TCP port found in %d tries" % tries)


def pick_relay_window(host: str = "127.0.0.1", size: int = 100, tries: int = 100):
    """A window [lo, lo+size-1] inside 20000-45000 whose ports are free on UDP.

    Windows are aligned to `size`, and each is locked for the server's
    lifetime.  Returns (lo, hi, lock)."""
    base, top = RELAY_PORT_RANGE
    slots = (top - base) // size
    for _ in range(tries):
        slot = random.randrange(slots)
        lo = base + slot * size
        hi = lo + size - 1
        try:
            lock = _PortLock("relay-%d-%d" % (lo, hi))
        except OSError:
            continue
        busy = sum(1 for p in range(lo, hi + 1) if not _port_free(host, p, udp=True, tcp=False))
        if busy <= size // 10:
            return lo, hi, lock
        lock.release()
    raise RuntimeError("no free relay port window found in %d tries" % tries)


# --------------------------------------------------------------------------
# STUN helpers (enough for a readiness probe)


def stun_binding_request() -> tuple[bytes, bytes]:
    txid = os.urandom(12)
    return struct.pack("!HHI", 0x0001, 0, STUN_MAGIC) + txid, txid


def _is_binding_response(data: bytes, txid: bytes) -> bool:
    if len(data) < 20:
        return False
    mtype, _, cookie = struct.unpack("!HHI", data[:8])
    return cookie == STUN_MAGIC and data[8:20] == txid and mtype in (0x0101, 0x0111)


def probe_udp(host: str, port: int, timeout: float = 0.3) -> bool:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family, socket.SOCK_DGRAM) as s:
        s.settimeout(timeout)
        req, txid = stun_binding_request()
        try:
            s.sendto(req, (host, port))
            data, _ = s.recvfrom(2048)
        except OSError:
            return False
        return _is_binding_response(data, txid)


def probe_tcp(host: str, port: int, timeout: float = 0.5) -> bool:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as s:
        s.settimeout(timeout)
        req, txid = stun_binding_request()
        try:
            s.connect((host, port))
            s.sendall(req)
            data = b""
            deadline = time.monotonic() + timeout
            while len(data) < 20 and time.monotonic() < deadline:
                chunk = s.recv(2048)
                if not chunk:
                    break
                data += chunk
        except OSError:
            return False
        return _is_binding_response(data, txid)


# --------------------------------------------------------------------------


def rest_credentials(secret: str, user: str = "interop", ttl: int = 3600) -> tuple[str, str]:
    """TURN REST API credentials: username "<expiry>:<user>",
    password base64(HMAC-SHA1(secret, username))."""
    username = "%d:%s" % (int(time.time()) + ttl, user)
    password = base64.b64encode(
        hmac.new(secret.encode(), username.encode(), hashlib.sha1).digest()
    ).decode()
    return username, password


SANITIZER_MARKERS = ("ERROR: AddressSanitizer", "ERROR: LeakSanitizer", "runtime error:")


def sanitizer_reports(log: str) -> list[str]:
    """A sanitized turnd (asan.* ctest entries) that printed a report has failed, whatever its
    exit status."""
    return ["server log contains %r" % m for m in SANITIZER_MARKERS if m in log]


def _describe_exit(rc: int) -> str:
    if rc < 0:
        try:
            name = signal.Signals(-rc).name
        except ValueError:
            name = "signal %d" % -rc
        return "killed by %s" % name
    return "exit code %d" % rc


class TurnServer:
    def __init__(
        self,
        kind: str | None = None,
        host: str = "127.0.0.1",
        realm: str = "interop.test",
        secret: str | None = None,
        threads: int = 2,
        relay_window: int = 100,
        users: dict[str, str] | None = None,
        extra_args: list[str] | None = None,
        ready_timeout: float = 20.0,
        stop_timeout: float = 10.0,
    ):
        self.kind = (kind or os.environ.get("SERVER") or "turnd").strip().lower()
        if self.kind not in ("turnd", "coturn"):
            raise ValueError("SERVER must be turnd or coturn, not %r" % self.kind)
        self.host = host
        self.realm = realm
        self.secret = secret or ("s3cr3t-" + os.urandom(6).hex())
        self.threads = threads
        self.relay_window = relay_window
        # Static long-term users.  turnd takes them besides the REST secret;
        # coturn 4.6 cannot, so with users coturn runs without the secret.
        self.users = dict(users or {})
        self.extra_args = list(extra_args or [])
        self.ready_timeout = ready_timeout
        self.stop_timeout = stop_timeout
        self.proc: subprocess.Popen | None = None
        self.port = 0
        self.relay_lo = self.relay_hi = 0
        self._locks: list[_PortLock] = []
        self.logdir = os.environ.get("TURN_TEST_LOGDIR") or tempfile.mkdtemp(prefix="turn-interop-")
        os.makedirs(self.logdir, exist_ok=True)
        self.log_path = ""
        self.workdir = tempfile.mkdtemp(prefix="turn-srv-")
        self.failure: str | None = None
        self.attempt_logs: list[str] = []

    # ---------------------------------------------------------------- helpers
    @property
    def binary(self) -> str:
        if self.kind == "turnd":
            return os.environ.get("TURND_BIN") or os.path.join(REPO, "build", "server", "turnd")
        return os.environ.get("COTURN_BIN") or "/usr/bin/turnserver"

    @property
    def url_host(self) -> str:
        return "[%s]" % self.host if ":" in self.host else self.host

    def command(self) -> list[str]:
        if self.kind == "turnd":
            cmd = [
                self.binary,
                "--listen", "%s:%d" % (self.url_host, self.port),
                "--realm", self.realm,
                "--auth-secret", self.secret,
                "--allow-peer", "::1/128" if ":" in self.host else "127.0.0.0/8",
                "--relay-ports", "%d-%d" % (self.relay_lo, self.relay_hi),
                "--threads", str(self.threads),
            ]
            for name, password in self.users.items():
                cmd += ["--user", "%s:%s" % (name, password)]
            cmd += shlex.split(os.environ.get("TURND_EXTRA_ARGS", ""))
        else:
            cmd = [
                self.binary, "-n",
                "--listening-ip=%s" % self.host,
                "--listening-port=%d" % self.port,
                "--relay-ip=%s" % self.host,
                "--min-port=%d" % self.relay_lo,
                "--max-port=%d" % self.relay_hi,
                "--realm=%s" % self.realm,
                "--use-auth-secret",
                "--static-auth-secret=%s" % self.secret,
                "--allow-loopback-peers",
                "--no-tls", "--no-dtls", "--no-cli",
                "--fingerprint",
                "--log-file=stdout",
                "--db=%s" % os.path.join(self.workdir, "turndb"),
                "--pidfile=%s" % os.path.join(self.workdir, "turnserver.pid"),
                "--relay-threads=%d" % self.threads,
            ]
            if self.users:
                # coturn 4.6 takes either the REST secret or static users, not both.
                cmd.remove("--use-auth-secret")
                cmd.remove("--static-auth-secret=%s" % self.secret)
                cmd += ["--lt-cred-mech"] + ["--user=%s:%s" % (n, p) for n, p in self.users.items()]
        return cmd + self.extra_args

    def rest_credentials(self, user: str = "interop", ttl: int = 3600) -> tuple[str, str]:
        return rest_credentials(self.secret, user, ttl)

    def log_text(self) -> str:
        out = []
        for p in self.attempt_logs + ([self.log_path] if self.log_path else []):
            try:
                with open(p, "r", errors="replace") as f:
                    out.append("==> %s <==\n%s" % (p, f.read()))
            except OSError as e:
                out.append("==> %s <== (unreadable: %s)" % (p, e))
        return "\n".join(out)

    def log_tail(self, lines: int = 200) -> str:
        text = self.log_text().splitlines()
        if len(text) > lines:
            text = ["... (%d earlier lines omitted; full log in %s)" % (len(text) - lines, self.log_path)] + text[-lines:]
        return "\n".join(text)

    def _release_locks(self) -> None:
        for lock in self._locks:
            lock.release()
        self._locks = []

    # ------------------------------------------------------------- lifecycle
    def start(self) -> "TurnServer":
        if not os.access(self.binary, os.X_OK):
            raise ServerFailure("%s binary not found or not executable: %s" % (self.kind, self.binary))
        last_err = ""
        for attempt in range(3):
            self.port, plock = pick_port(self.host)
            self.relay_lo, self.relay_hi, rlock = pick_relay_window(self.host, self.relay_window)
            self._locks = [plock, rlock]
            self.log_path = os.path.join(
                self.logdir, "%s-%d-%d.log" % (self.kind, self.port, attempt))
            cmd = self.command()
            with open(self.log_path, "w") as log:
                log.write("# %s\n" % " ".join(shlex.quote(c) for c in cmd))
                log.flush()
                self.proc = subprocess.Popen(
                    cmd, stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT,
                    cwd=self.workdir, start_new_session=True)
            err = self._wait_ready()
            if err is None:
                return self
            last_err = err
            rc = self.proc.poll()
            if rc is not None and rc < 0:
                # died of a signal while starting: that is a crash, not a port clash
                self.failure = "%s crashed during start-up (%s)" % (self.kind, _describe_exit(rc))
                self._release_locks()
                raise ServerFailure(self.failure + "\n" + self.log_tail())
            if rc is None:
                # Running but not answering: a server bug, not a port clash.
                self._kill()
                self._release_locks()
                self.failure = "%s did not become ready: %s" % (self.kind, err)
                raise ServerFailure(self.failure + "\n" + self.log_tail())
            self._release_locks()
            self.attempt_logs.append(self.log_path)
            self.log_path = ""
        self.failure = "%s did not become ready: %s" % (self.kind, last_err)
        raise ServerFailure(self.failure + "\n" + self.log_tail())

    def _wait_ready(self) -> str | None:
        deadline = time.monotonic() + self.ready_timeout
        udp_ok = tcp_ok = False
        while time.monotonic() < deadline:
            rc = self.proc.poll()
            if rc is not None:
                return "process exited before answering STUN (%s)" % _describe_exit(rc)
            udp_ok = udp_ok or probe_udp(self.host, self.port)
            tcp_ok = tcp_ok or probe_tcp(self.host, self.port)
            if udp_ok and tcp_ok:
                return None
            time.sleep(0.1)
        return "no STUN Binding success response within %.0fs (udp=%s tcp=%s)" % (
            self.ready_timeout, udp_ok, tcp_ok)

    def _kill(self) -> None:
        if self.proc and self.proc.poll() is None:
            try:
                os.kill(self.proc.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            try:
                self.proc.wait(5)
            except subprocess.TimeoutExpired:
                pass

    def alive(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def check_alive(self) -> None:
        """Raise ServerFailure if the server is no longer running."""
        if self.proc is not None:
            rc = self.proc.poll()
            if rc is not None:
                self.failure = "%s died while the test ran (%s)" % (self.kind, _describe_exit(rc))
                raise ServerFailure(self.failure + "\n" + self.log_tail())

    def stop(self) -> None:
        """Stop by PID (SIGTERM, then SIGKILL).  Raises ServerFailure if the
        server had died before, died of a signal other than SIGTERM, exited
        non-zero, or did not stop in time."""
        if self.proc is None:
            return
        problems = []
        rc = self.proc.poll()
        if rc is not None:
            problems.append("%s had exited before the test stopped it (%s)" % (self.kind, _describe_exit(rc)))
        else:
            os.kill(self.proc.pid, signal.SIGTERM)
            try:
                rc = self.proc.wait(self.stop_timeout)
            except subprocess.TimeoutExpired:
                self._kill()
                rc = self.proc.returncode
                problems.append("%s did not exit within %.0fs of SIGTERM (SIGKILLed)" % (self.kind, self.stop_timeout))
            else:
                if rc not in (0, -signal.SIGTERM):
                    problems.append("%s exited with %s after SIGTERM" % (self.kind, _describe_exit(rc)))
        self.proc = None
        self._release_locks()
        shutil.rmtree(self.workdir, ignore_errors=True)
        problems += sanitizer_reports(self.log_text())
        if problems:
            self.failure = "; ".join(problems)
            raise ServerFailure(self.failure + "\n" + self.log_tail())

    def __enter__(self) -> "TurnServer":
        return self.start()

    def __exit__(self, exc_type, exc, tb) -> None:
        try:
            self.stop()
        except ServerFailure:
            if exc_type is None:
                raise
        finally:
            if exc_type is not None:
                sys.stderr.write("\n----- %s log -----\n%s\n" % (self.kind, self.log_tail()))


# --------------------------------------------------------------------------
# Helper processes (peers) stopped by PID.


class Helper:
    """A background helper process (e.g. turnutils_peer) with its own log."""

    def __init__(self, cmd: list[str], log_path: str):
        self.cmd = cmd
        self.log_path = log_path
        with open(log_path, "w") as log:
            self.proc = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=log,
                                         stderr=subprocess.STDOUT, start_new_session=True)

    def stop(self) -> int | None:
        if self.proc.poll() is None:
            os.kill(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(5)
            except subprocess.TimeoutExpired:
                os.kill(self.proc.pid, signal.SIGKILL)
                self.proc.wait(5)
        return self.proc.returncode

    def log_text(self) -> str:
        try:
            with open(self.log_path, errors="replace") as f:
                return f.read()
        except OSError:
            return ""


# --------------------------------------------------------------------------


def _main(argv: list[str]) -> int:
    import argparse

    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = ap.add_subparsers(dest="cmd", required=True)
    run = sub.add_parser("run", help="start the server, run a command against it, stop it")
    run.add_argument("--timeout", type=float, default=240.0, help="seconds the command may take")
    run.add_argument("--realm", default="interop.test")
    run.add_argument("command", nargs=argparse.REMAINDER)
    args = ap.parse_args(argv)
    command = args.command
    if command and command[0] == "--":
        command = command[1:]
    if not command:
        ap.error("run needs a command after --")

    srv = TurnServer(realm=args.realm)
    try:
        srv.start()
    except ServerFailure as e:
        print("FAIL: %s" % e, flush=True)
        return 1
    print("%s ready on %s:%d (relay ports %d-%d), log %s" % (
        srv.kind, srv.host, srv.port, srv.relay_lo, srv.relay_hi, srv.log_path), flush=True)
    env = dict(os.environ)
    env.update({
        "TURN_HOST": srv.host,
        "TURN_PORT": str(srv.port),
        "TURN_REALM": srv.realm,
        "TURN_SECRET": srv.secret,
        "TURN_SERVER_KIND": srv.kind,
        "TURN_RELAY_PORTS": "%d-%d" % (srv.relay_lo, srv.relay_hi),
    })
    child = subprocess.Popen(command, env=env, start_new_session=True)
    try:
        rc = child.wait(args.timeout)
    except subprocess.TimeoutExpired:
        print("FAIL: command did not finish within %.0fs; killing it" % args.timeout, flush=True)
        try:
            os.killpg(child.pid, signal.SIGKILL)  # the child's own process group only
        except ProcessLookupError:
            pass
        child.wait(10)
        rc = 124
    server_error = None
    try:
        srv.stop()
    except ServerFailure as e:
        server_error = str(e).splitlines()[0]
    if rc != 0 or server_error:
        if server_error:
            print("FAIL: %s" % server_error, flush=True)
        if rc != 0:
            print("FAIL: command exited with %s" % _describe_exit(rc), flush=True)
        print("----- %s log -----\n%s" % (srv.kind, srv.log_tail()), flush=True)
        return rc or 1
    return 0


if __name__ == "__main__":
    sys.exit(_main(sys.argv[1:]))
