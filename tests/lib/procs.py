"""The one launcher of turnd (and coturn) for every Python test: integration, interop, hardening,
redis, soak, asan, browser (through run_with_server.py) and the fuzz seed capture.

free_port()            a port free for UDP and TCP on 127.0.0.1 and ::1
relay_port_window(n)   a checked-free window of n relay ports (UDP+TCP, both families)
ServerConfig           what a test wants from the server, independent of the implementation
TurndProcess / CoturnProcess
                       start the server with a ServerConfig, wait until it answers a Binding over
                       UDP and accepts TCP, capture its output to a log file, stop it by PID
                       (SIGINT, SIGKILL after stop_timeout = 10 s) and fail when it crashed:
                       killed by a signal other than the ones we sent, exited on its own, did not
                       stop within stop_timeout, or printed a sanitizer report (ERROR:
                       AddressSanitizer / LeakSanitizer, "runtime error:", ThreadSanitizer,
                       "terminate called").
make_server(config)    TurndProcess, or CoturnProcess with TURND_SERVER=coturn
turnd_binary(), turnctl_binary()
                       the binaries under test (TURND_BIN, TURNCTL_BIN)

Environment: TURND_BIN (default <repo>/build/server/turnd), TURNCTL_BIN (default
<repo>/build/tools/turnctl), TURND_SERVER=turnd|coturn,
TURN_TEST_LOGDIR (server directories go there and are kept; default: a temp directory removed
after a clean stop), TURND_KEEP_LOGS=1 (keep temp directories too).

Ports: each test process takes an exclusive lock on one 1000-port block (flock on a file in the
temp directory), so parallel ctest runs never pick the same ports. Listen ports come from the
first 50 ports of the block, relay windows from the other 950 (non-overlapping while reserved). Blocks lie between 10000 and
32000, below the kernel's ephemeral range, so client sockets never take them.
"""

from __future__ import annotations

import dataclasses
import errno
import fcntl
import ipaddress
import os
import random
import shutil
import signal
import socket
import struct
import subprocess
import sys
import tempfile
import time
from typing import Dict, List, Optional, Sequence, Tuple

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(HERE))
DEFAULT_TURND = os.path.join(REPO, "build", "server", "turnd")
DEFAULT_TURNCTL = os.path.join(REPO, "build", "tools", "turnctl")

LOOPBACK = ("127.0.0.1", "::1")

# ---------------------------------------------------------------------------------------------
# ports

_BLOCK_SIZE = 1000
_BLOCK_LO, _BLOCK_HI = 10000, 32000
_LISTEN_SPAN = 50
_lock_files: List[object] = []
_block: Optional[int] = None
_next_listen = 0
_next_relay = 0


def _ephemeral_range() -> Tuple[int, int]:
    try:
        with open("/proc/sys/net/ipv4/ip_local_port_range") as f:
            lo, hi = f.read().split()
            return int(lo), int(hi)
    except (OSError, ValueError):
        return 32768, 60999


def _can_bind(port: int, kinds=(socket.SOCK_DGRAM, socket.SOCK_STREAM), hosts=LOOPBACK) -> bool:
    socks = []
    try:
        for host in hosts:
            fam = socket.AF_INET6 if ":" in host else socket.AF_INET
            for kind in kinds:
                s = socket.socket(fam, kind)
                socks.append(s)
                if kind == socket.SOCK_STREAM:
                    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
                s.bind((host, port))
        return True
    except OSError:
        return False
    finally:
        for s in socks:
            s.close()


def _acquire_block() -> int:
    """Lock one port block for this process (kept until exit)."""
    global _block
    if _block is not None:
        return _block
    lockdir = os.path.join(tempfile.gettempdir(), "turnd-test-ports")
    os.makedirs(lockdir, exist_ok=True)
    eph_lo, _ = _ephemeral_range()
    hi = min(_BLOCK_HI, eph_lo)
    blocks = list(range(_BLOCK_LO, hi - _BLOCK_SIZE + 1, _BLOCK_SIZE))
    random.SystemRandom().shuffle(blocks)
    for start in blocks:
        f = open(os.path.join(lockdir, f"block-{start}.lock"), "w")
        try:
            fcntl.flock(f, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            f.close()
            continue
        _lock_files.append(f)
        _block = start
        return start
    raise RuntimeError("no free port block for the tests")


def free_port(proto: str = "both") -> int:
    """A port free for UDP and TCP (proto "both"; or just "udp" / "tcp") on 127.0.0.1 and ::1."""
    global _next_listen
    kinds = {"both": (socket.SOCK_DGRAM, socket.SOCK_STREAM), "udp": (socket.SOCK_DGRAM,),
             "tcp": (socket.SOCK_STREAM,)}[proto]
    base = _acquire_block()
    for _ in range(_LISTEN_SPAN):
        port = base + (_next_listen % _LISTEN_SPAN)
        _next_listen += 1
        if _can_bind(port, kinds):
            return port
    raise RuntimeError("no free listen port in this process's block")


_reserved_windows: List[Tuple[int, int]] = []


def relay_port_window(size: int = 200) -> Tuple[int, int]:
    """(lo, hi) inclusive, reserved for this process until release_port_window(); every port
    free for UDP and TCP on both loopback addresses. Reserved windows never overlap (a server
    may bind its relay ports lazily, so a bind check alone would not see them)."""
    global _next_relay
    span = _BLOCK_SIZE - _LISTEN_SPAN
    if size > span:
        raise ValueError(f"relay window larger than {span}")
    base = _acquire_block() + _LISTEN_SPAN
    for _ in range(span):
        start = base + (_next_relay % (span - size + 1))
        _next_relay += 1
        lo, hi = start, start + size - 1
        if any(not (hi < rlo or lo > rhi) for rlo, rhi in _reserved_windows):
            continue
        if all(_can_bind(p) for p in range(lo, hi + 1)):
            _next_relay = start - base + size
            _reserved_windows.append((lo, hi))
            return lo, hi
    raise RuntimeError(f"no free relay window of {size} ports (reserved: {_reserved_windows})")


def release_port_window(window: Optional[Tuple[int, int]]) -> None:
    if window in _reserved_windows:
        _reserved_windows.remove(window)


def fmt_hostport(ip: str, port: int) -> str:
    return f"[{ip}]:{port}" if ":" in ip else f"{ip}:{port}"


# ---------------------------------------------------------------------------------------------
# configuration shared by both servers

@dataclasses.dataclass
class ServerConfig:
    listen: Sequence[Tuple[str, int]] = ()           # default: 127.0.0.1 and ::1 on one free port
    realm: str = "turnd.test"
    users: Sequence[Tuple[str, str]] = ()
    secrets: Sequence[str] = ()
    relay_ips: Optional[Sequence[str]] = ("127.0.0.1",)  # None: let the server choose
    relay_ports: Optional[Tuple[int, int]] = None    # default: a fresh 200-port window
    relay_window: int = 200
    allow_peers: Sequence[str] = ("127.0.0.0/8", "::1/128")
    deny_peers: Sequence[str] = ()
    threads: int = 1
    max_lifetime: Optional[int] = None
    user_quota: Optional[int] = None
    total_quota: Optional[int] = None
    strict_channel_numbers: bool = False
    nonce_lifetime: Optional[int] = None             # turnd: auth.nonce_lifetime in a --config file
    default_lifetime: Optional[int] = None           # turnd: relay.default_lifetime (coturn: none)
    config_yaml: str = ""                            # turnd: more YAML for the --config file
    log_level: Optional[str] = "debug"               # None: no --log-level (the --config file decides)
    tls_port: Optional[int] = None                   # a TLS listener on this port of every listen IP
    tls_cert: str = ""                               # PEM files for it (turnd --tls-cert/--tls-key,
    tls_key: str = ""                                # coturn --cert/--pkey)
    extra_args: Sequence[str] = ()
    env: Optional[Dict[str, str]] = None             # more environment for the server process

    def resolved(self) -> "ServerConfig":
        c = dataclasses.replace(self)
        if not c.listen:
            p = free_port()
            c.listen = (("127.0.0.1", p), ("::1", p))
        if c.relay_ports is None:
            c.relay_ports = relay_port_window(c.relay_window)
        return c


class ServerCrashed(AssertionError):
    pass


class ServerProcess:
    """Common start/wait/stop logic. Subclasses build the command line."""

    name = "server"
    software_prefix = ""

    def __init__(self, config: Optional[ServerConfig] = None, log_dir: Optional[str] = None,
                 ready_timeout: float = 20.0, stop_timeout: float = 10.0):
        self.config = (config or ServerConfig()).resolved()
        self.ready_timeout = ready_timeout
        self.stop_timeout = stop_timeout
        keep_in = os.environ.get("TURN_TEST_LOGDIR")
        if keep_in and log_dir is None:
            os.makedirs(keep_in, exist_ok=True)
        self._own_dir = log_dir is None and not keep_in
        self.dir = log_dir or tempfile.mkdtemp(prefix=f"{self.name}-test-", dir=keep_in or None)
        self.log_path = os.path.join(self.dir, f"{self.name}.log")
        self.proc: Optional[subprocess.Popen] = None
        self._log = None
        self.returncode: Optional[int] = None
        self.killed = False
        self.crash: Optional[str] = None

    # --- addresses ---
    @property
    def address(self) -> Tuple[str, int]:
        return self.config.listen[0]

    def address_for(self, family: str) -> Tuple[str, int]:
        """family "v4"/"v6" -> (ip, port) of a listen address of that family."""
        want6 = family in ("v6", "6", 6)
        for ip, port in self.config.listen:
            if (":" in ip) == want6:
                return ip, port
        raise LookupError(f"server listens on no {family} address")

    @property
    def relay_ports(self) -> Tuple[int, int]:
        return self.config.relay_ports

    # --- lifecycle ---
    def command(self) -> List[str]:
        raise NotImplementedError

    def start(self) -> "ServerProcess":
        # Once only: `with server:` starts it too, and a second process would outlive stop(),
        # which stops the last one started.
        if self.proc is not None:
            return self
        cmd = self.command()
        self._log = open(self.log_path, "wb")
        self._log.write(("$ " + " ".join(cmd) + "\n").encode())
        self._log.flush()
        self.proc = subprocess.Popen(cmd, stdout=self._log, stderr=subprocess.STDOUT,
                                     stdin=subprocess.DEVNULL, start_new_session=True,
                                     cwd=self.dir, env=self.child_env())
        try:
            self._wait_ready()
        except BaseException:
            self.stop(check=False)
            raise
        return self

    def child_env(self) -> Optional[dict]:
        """The server's environment; None = ours."""
        return {**os.environ, **self.config.env} if self.config.env else None

    def _binding_ok(self, addr: Tuple[str, int], timeout: float) -> bool:
        fam = socket.AF_INET6 if ":" in addr[0] else socket.AF_INET
        tid = os.urandom(12)
        req = struct.pack("!HHI", 0x0001, 0, 0x2112A442) + tid
        with socket.socket(fam, socket.SOCK_DGRAM) as s:
            s.settimeout(timeout)
            try:
                s.sendto(req, addr)
                for _ in range(4):
                    data, _src = s.recvfrom(2048)
                    if len(data) >= 20 and data[8:20] == tid:
                        return True
            except (socket.timeout, ConnectionRefusedError, OSError):
                return False
        return False

    def _tcp_ok(self, addr: Tuple[str, int]) -> bool:
        fam = socket.AF_INET6 if ":" in addr[0] else socket.AF_INET
        with socket.socket(fam, socket.SOCK_STREAM) as s:
            s.settimeout(0.5)
            try:
                s.connect(addr)
                return True
            except OSError:
                return False

    def _wait_ready(self) -> None:
        deadline = time.monotonic() + self.ready_timeout
        pending = list(self.config.listen)
        tls_port = self.config.tls_port
        tls_pending = [(ip, tls_port) for ip, _ in self.config.listen] if tls_port else []
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                self.returncode = self.proc.returncode
                raise ServerCrashed(f"{self.name} exited with {self.proc.returncode} during start-up\n"
                                    + self.log_tail())
            pending = [a for a in pending if not (self._binding_ok(a, 0.2) and self._tcp_ok(a))]
            tls_pending = [a for a in tls_pending if not self._tcp_ok(a)]
            if not pending and not tls_pending:
                return
            time.sleep(0.05)
        raise ServerCrashed(f"{self.name} did not answer a STUN Binding on {pending} (or accept TCP "
                            f"on its TLS listeners {tls_pending}) within "
                            f"{self.ready_timeout} s\n" + self.log_tail())

    def alive(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def assert_alive(self) -> None:
        if not self.alive():
            rc = self.proc.returncode if self.proc else None
            raise ServerCrashed(f"{self.name} is not running (exit status {describe_status(rc)})\n"
                                + self.log_tail())

    def log_text(self) -> str:
        try:
            with open(self.log_path, "rb") as f:
                return f.read().decode("utf-8", "replace")
        except OSError:
            return ""

    def log_tail(self, lines: int = 60) -> str:
        text = self.log_text().splitlines()
        return f"---- last {min(lines, len(text))} lines of {self.log_path} ----\n" + "\n".join(text[-lines:])

    def stop(self, check: bool = True, sig: int = signal.SIGINT) -> None:
        """`sig` by PID (SIGINT: exit at once; SIGTERM drains for shutdown_grace), SIGKILL after
        stop_timeout. With check, raise ServerCrashed when the server died on its own before,
        was killed by another signal, did not stop within stop_timeout, or printed a sanitizer
        report."""
        if self.proc is None:
            return
        died_early = self.proc.poll() is not None
        if not died_early:
            try:
                os.kill(self.proc.pid, sig)
            except ProcessLookupError:
                pass
            try:
                self.proc.wait(timeout=self.stop_timeout)
            except subprocess.TimeoutExpired:
                self.killed = True
                os.kill(self.proc.pid, signal.SIGKILL)
                self.proc.wait(timeout=10)
        self.returncode = self.proc.returncode
        release_port_window(tuple(self.config.relay_ports))
        if self._log:
            self._log.close()
            self._log = None
        rc = self.returncode
        problems = []
        if self.killed:
            problems.append(f"did not exit within {self.stop_timeout:g} s of "
                            f"{signal.Signals(sig).name} (SIGKILLed)")
        if died_early:
            problems.append(f"exited on its own with status {describe_status(rc)} before the test stopped it")
        elif rc is not None and rc < 0 and -rc not in (signal.SIGTERM, signal.SIGINT, signal.SIGKILL):
            problems.append(f"killed by {describe_status(rc)}")
        elif rc == -signal.SIGKILL and not self.killed:
            problems.append("killed by SIGKILL (not sent by the test)")
        elif rc not in (0, -signal.SIGTERM, 128 + signal.SIGTERM, -signal.SIGKILL):
            problems.append(f"exit status {rc} after {signal.Signals(sig).name}")
        text = self.log_text()
        problems += sanitizer_reports(text)
        self.crash = "; ".join(problems) or None
        if check and self.crash:
            raise ServerCrashed(f"{self.name}: {self.crash}\n" + self.log_tail())
        if self._own_dir and not self.crash and os.environ.get("TURND_KEEP_LOGS") != "1":
            shutil.rmtree(self.dir, ignore_errors=True)

    def __enter__(self):
        return self.start() if self.proc is None else self

    def __exit__(self, exc_type, exc, tb):
        if exc_type is not None and self.proc is not None:
            sys.stdout.write(self.log_tail() + "\n")
        self.stop(check=exc_type is None)
        return False


SANITIZER_MARKERS = ("ERROR: AddressSanitizer", "ERROR: LeakSanitizer", "runtime error:",
                     "ThreadSanitizer", "terminate called")


def sanitizer_reports(log: str) -> List[str]:
    """A sanitized turnd (asan.* ctest entries) that printed a report has failed, whatever its
    exit status."""
    return [f"log contains {m!r}" for m in SANITIZER_MARKERS if m in log]


def describe_status(rc: Optional[int]) -> str:
    if rc is None:
        return "running"
    if rc < 0:
        try:
            return f"signal {signal.Signals(-rc).name}"
        except ValueError:
            return f"signal {-rc}"
    return str(rc)


class TurndProcess(ServerProcess):
    """The real turnd binary (env TURND_BIN, default <repo>/build/server/turnd)."""

    name = "turnd"
    _help_cache: dict = {}

    def __init__(self, config: Optional[ServerConfig] = None, binary: Optional[str] = None, **kw):
        self.binary = binary or turnd_binary()
        super().__init__(config, **kw)

    def child_env(self) -> Optional[dict]:
        # A turnd without credentials keeps the secret it generates in $RUNTIME_DIRECTORY: this
        # server's own directory, so parallel tests never share (or leave) a run-secret file.
        return {**os.environ, "RUNTIME_DIRECTORY": self.dir, **(self.config.env or {})}

    @classmethod
    def help_text(cls, binary: Optional[str] = None) -> str:
        b = binary or turnd_binary()
        if b not in cls._help_cache:
            try:
                out = subprocess.run([b, "--help"], capture_output=True, timeout=10, text=True)
                cls._help_cache[b] = out.stdout + out.stderr
            except (OSError, subprocess.TimeoutExpired):
                cls._help_cache[b] = ""
        return cls._help_cache[b]

    @classmethod
    def supports(cls, flag: str, binary: Optional[str] = None) -> bool:
        return flag in cls.help_text(binary)

    def command(self) -> List[str]:
        c = self.config
        cmd = [self.binary, "--realm", c.realm, "--threads", str(c.threads)]
        if c.log_level is not None:
            cmd += ["--log-level", c.log_level]
        for ip, port in c.listen:
            cmd += ["--listen", fmt_hostport(ip, port)]
        for u, p in c.users:
            cmd += ["--user", f"{u}:{p}"]
        for s in c.secrets:
            cmd += ["--auth-secret", s]
        for ip in (c.relay_ips or ()):
            cmd += ["--relay-ip", ip]
        cmd += ["--relay-ports", f"{c.relay_ports[0]}-{c.relay_ports[1]}"]
        for p in c.allow_peers:
            cmd += ["--allow-peer", p]
        for p in c.deny_peers:
            cmd += ["--deny-peer", p]
        if c.max_lifetime is not None:
            cmd += ["--max-lifetime", str(c.max_lifetime)]
        if c.user_quota is not None:
            cmd += ["--user-quota", str(c.user_quota)]
        if c.total_quota is not None:
            cmd += ["--total-quota", str(c.total_quota)]
        if c.strict_channel_numbers:
            cmd += ["--strict-channel-numbers"]
        if c.tls_port:
            for ip, _ in c.listen:
                cmd += ["--listen-tls", fmt_hostport(ip, c.tls_port)]
            cmd += ["--tls-cert", c.tls_cert, "--tls-key", c.tls_key]
        # settings without a flag go into a --config file (keys it leaves out keep their defaults)
        yaml = []
        if c.nonce_lifetime is not None:
            if self.supports("--nonce-lifetime", self.binary):
                cmd += ["--nonce-lifetime", str(c.nonce_lifetime)]
            else:
                yaml += ["auth:", f"  nonce_lifetime: {c.nonce_lifetime}"]
        if c.default_lifetime is not None:
            yaml += ["relay:", f"  default_lifetime: {c.default_lifetime}"]
        if yaml or c.config_yaml:
            path = os.path.join(self.dir, "turnd.yaml")
            with open(path, "w") as f:
                f.write("\n".join(yaml) + "\n" + c.config_yaml)
            cmd[1:1] = ["--config", path]
        return cmd + list(c.extra_args)


class CoturnProcess(ServerProcess):
    """coturn's turnserver with the same ServerConfig, for developing the tests."""

    name = "coturn"

    def __init__(self, config: Optional[ServerConfig] = None, binary: str = "/usr/bin/turnserver", **kw):
        self.binary = binary
        super().__init__(config, **kw)

    def command(self) -> List[str]:
        c = self.config
        ports = {p for _, p in c.listen}
        if len(ports) != 1:
            raise ValueError("coturn listens on one port for all its addresses")
        cmd = [self.binary, "-n", f"--listening-port={ports.pop()}", f"--realm={c.realm}",
               f"--min-port={c.relay_ports[0]}", f"--max-port={c.relay_ports[1]}",
               "--no-dtls", "--no-cli", "--log-file=stdout",
               "--simple-log", f"--db={os.path.join(self.dir, 'turndb')}",
               f"--pidfile={os.path.join(self.dir, 'turnserver.pid')}",
               f"--relay-threads={c.threads}", "--no-rfc5780"]
        if c.tls_port:  # coturn also accepts TLS on its plain TCP port, and plain TCP on this one
            cmd += [f"--tls-listening-port={c.tls_port}", f"--cert={c.tls_cert}", f"--pkey={c.tls_key}"]
        else:
            cmd.append("--no-tls")
        for ip, _ in c.listen:
            cmd.append(f"--listening-ip={ip}")
        for ip in (c.relay_ips or [ip for ip, _ in c.listen]):
            cmd.append(f"--relay-ip={ip}")
        if c.users:
            cmd.append("--lt-cred-mech")
            cmd += [f"--user={u}:{p}" for u, p in c.users]
        if c.secrets:
            cmd.append("--use-auth-secret")
            cmd += [f"--static-auth-secret={s}" for s in c.secrets]
        if any(ipaddress.ip_network(p).overlaps(ipaddress.ip_network("127.0.0.0/8"))
               if ":" not in p else ipaddress.ip_network(p).overlaps(ipaddress.ip_network("::1/128"))
               for p in c.allow_peers):
            cmd.append("--allow-loopback-peers")
        for p in c.allow_peers:
            net = ipaddress.ip_network(p)
            cmd.append(f"--allowed-peer-ip={net[0]}-{net[-1]}")
        for p in c.deny_peers:
            net = ipaddress.ip_network(p)
            cmd.append(f"--denied-peer-ip={net[0]}-{net[-1]}")
        if c.max_lifetime is not None:
            cmd.append(f"--max-allocate-lifetime={c.max_lifetime}")
        if c.user_quota is not None:
            cmd.append(f"--user-quota={c.user_quota}")
        if c.total_quota is not None:
            cmd.append(f"--total-quota={c.total_quota}")
        if c.nonce_lifetime is not None:
            cmd.append(f"--stale-nonce={c.nonce_lifetime}")
        return cmd + list(c.extra_args)


def turnd_binary() -> str:
    return os.environ.get("TURND_BIN") or DEFAULT_TURND


def turnctl_binary() -> str:
    """The turnctl binary (env TURNCTL_BIN, default <repo>/build/tools/turnctl); callers check
    that it exists and skip or fail in their own way."""
    return os.environ.get("TURNCTL_BIN") or DEFAULT_TURNCTL


def server_kind() -> str:
    """"turnd" (default) or "coturn" (env TURND_SERVER)."""
    kind = os.environ.get("TURND_SERVER", "turnd").strip().lower()
    if kind not in ("turnd", "coturn"):
        raise ValueError(f"TURND_SERVER must be turnd or coturn, not {kind!r}")
    return kind


def server_class():
    return CoturnProcess if server_kind() == "coturn" else TurndProcess


def make_server(config: Optional[ServerConfig] = None, **kw) -> ServerProcess:
    return server_class()(config, **kw)
