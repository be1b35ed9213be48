"""Helpers of the TLS and DTLS tests (issue 12): test certificates, a turnd with TLS, DTLS and
admin listeners, openssl s_client runs, /metrics scrapes, a UDP echo peer.

Certificates come from `turnctl cert self-signed` when the turnctl under test has it, else from
`openssl req -x509` (EC P-256, CN and subjectAltName IP:127.0.0.1); expired ones from
python3-cryptography (openssl 3.0 cannot date a certificate in the past)."""

from __future__ import annotations

import dataclasses
import datetime
import hashlib
import os
import re
import signal
import socket
import ssl
import subprocess
import threading
import time
import urllib.request
from typing import Dict, List, Optional, Sequence, Tuple

import pytest

import _paths  # noqa: F401
import procs

HOST = "127.0.0.1"
SECRET = "tls-secret-" + os.urandom(6).hex()
OPENSSL = "/usr/bin/openssl"
ALPN_TURN, ALPN_DISCOVERY = "stun.turn", "stun.nat-discovery"
REASONS = ("timeout", "not_tls", "protocol_version", "no_shared_cipher", "peer_alert", "closed",
           "other")


# --- certificates -----------------------------------------------------------------------------

@dataclasses.dataclass
class CertPair:
    cert: str
    key: str

    @property
    def der(self) -> bytes:
        with open(self.cert) as f:
            return ssl.PEM_cert_to_DER_cert(f.read())

    @property
    def fingerprint(self) -> str:
        return hashlib.sha256(self.der).hexdigest()

    @property
    def serial(self) -> int:
        from cryptography import x509
        return x509.load_der_x509_certificate(self.der).serial_number


def fingerprint(der: bytes) -> str:
    return hashlib.sha256(der).hexdigest()


def cert_tool() -> str:
    """"turnctl" when the turnctl under test has `cert self-signed`, else "openssl"
    (TLS_TEST_CERT_TOOL=openssl|turnctl forces one)."""
    forced = os.environ.get("TLS_TEST_CERT_TOOL")
    if forced:
        return forced
    if not hasattr(cert_tool, "cached"):
        b = procs.turnctl_binary()
        try:
            ok = subprocess.run([b, "cert", "self-signed", "--help"], capture_output=True,
                                timeout=10).returncode == 0
        except (OSError, subprocess.TimeoutExpired):
            ok = False
        cert_tool.cached = "turnctl" if ok else "openssl"
    return cert_tool.cached


def make_pair(directory: str, name: str, hosts: Sequence[str] = (HOST,), days: int = 30) -> CertPair:
    """A fresh self-signed EC P-256 pair (new key, random serial) for hosts (the first is the
    CN; IPs and DNS names in subjectAltName): NAME.pem and NAME.key, made by cert_tool()."""
    os.makedirs(directory, exist_ok=True)
    pair = CertPair(os.path.join(directory, f"{name}.pem"), os.path.join(directory, f"{name}.key"))
    if cert_tool() == "turnctl":
        out = os.path.join(directory, f".{name}.turnctl")
        os.makedirs(out, exist_ok=True)
        cmd = [procs.turnctl_binary(), "cert", "self-signed", "--out", out, "--days", str(days)]
        for h in hosts:
            cmd += ["--host", h]
        r = subprocess.run(cmd, capture_output=True, text=True, timeout=30)
        assert r.returncode == 0, f"{' '.join(cmd)} failed: {r.stdout}{r.stderr}"
        os.replace(os.path.join(out, "cert.pem"), pair.cert)
        os.replace(os.path.join(out, "key.pem"), pair.key)
        return pair
    san = ",".join(f"IP:{h}" if re.fullmatch(r"[\d.]+|[0-9a-fA-F:]*:[0-9a-fA-F:]*", h) else f"DNS:{h}"
                   for h in hosts)
    r = subprocess.run([OPENSSL, "req", "-x509", "-newkey", "ec", "-pkeyopt",
                        "ec_paramgen_curve:P-256", "-nodes", "-subj", f"/CN={hosts[0]}", "-addext",
                        f"subjectAltName={san}", "-days", str(days), "-keyout", pair.key,
                        "-out", pair.cert], capture_output=True, text=True, timeout=30)
    assert r.returncode == 0, f"openssl req failed: {r.stderr}"
    return pair


def make_expired_pair(directory: str, name: str, cn: str = HOST) -> CertPair:
    """A pair whose certificate expired yesterday (valid from 10 days ago to 1 day ago)."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID
    import ipaddress
    key = ec.generate_private_key(ec.SECP256R1())
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, cn)])
    now = datetime.datetime.now(datetime.timezone.utc)
    cert = (x509.CertificateBuilder().subject_name(subject).issuer_name(subject)
            .public_key(key.public_key()).serial_number(x509.random_serial_number())
            .not_valid_before(now - datetime.timedelta(days=10))
            .not_valid_after(now - datetime.timedelta(days=1))
            .add_extension(x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address(cn))]),
                           critical=False)
            .sign(key, hashes.SHA256()))
    pair = CertPair(os.path.join(directory, f"{name}.pem"), os.path.join(directory, f"{name}.key"))
    with open(pair.cert, "wb") as f:
        f.write(cert.public_bytes(serialization.Encoding.PEM))
    with open(pair.key, "wb") as f:
        f.write(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                  serialization.NoEncryption()))
    return pair


def install_pair(src: CertPair, dst: CertPair) -> None:
    """Copy src's files over dst's, each replaced in one rename (key first, then cert)."""
    for a, b in ((src.key, dst.key), (src.cert, dst.cert)):
        with open(a, "rb") as f:
            data = f.read()
        tmp = b + ".tmp"
        with open(tmp, "wb") as f:
            f.write(data)
        os.replace(tmp, b)


# --- the server -------------------------------------------------------------------------------

def admin_listen_args(port: int) -> List[str]:
    return ["--admin-listen", f"{HOST}:{port}"]


def start_tls_server(server_factory, threads: int, pair: CertPair, tls: bool = True,
                     dtls: bool = True, extra: Sequence[str] = (),
                     secrets: Sequence[str] = (SECRET,), **config) -> procs.ServerProcess:
    """turnd on 127.0.0.1 with a plain listener (UDP+TCP), a TLS and a DTLS listener on ports of
    their own and the admin listener; s.tls, s.dtls, s.admin are their addresses/port. `config`
    goes to procs.ServerConfig (config_yaml, ...)."""
    tls_addr = (HOST, procs.free_port("tcp")) if tls else None
    dtls_addr = (HOST, procs.free_port("udp")) if dtls else None
    admin = procs.free_port("tcp")
    args = ["--tls-cert", pair.cert, "--tls-key", pair.key] + admin_listen_args(admin)
    if tls_addr:
        args += ["--listen-tls", procs.fmt_hostport(*tls_addr)]
    if dtls_addr:
        args += ["--listen-dtls", procs.fmt_hostport(*dtls_addr)]
    s = server_factory(procs.ServerConfig(listen=[(HOST, procs.free_port())], threads=threads,
                                          secrets=list(secrets), extra_args=args + list(extra),
                                          **config))
    s.tls, s.dtls, s.admin, s.pair = tls_addr, dtls_addr, admin, pair
    if tls_addr:
        require_tls_listener(s)
    return s


def require_tls_listener(s, timeout: float = 3.0) -> None:
    deadline = time.monotonic() + timeout
    while True:
        try:
            with socket.create_connection(s.tls, timeout=0.5):
                return
        except OSError as e:
            if time.monotonic() > deadline:
                pytest.fail(f"turnd started with --listen-tls {procs.fmt_hostport(*s.tls)} but "
                            f"nothing accepts TCP there ({e}): the TLS listener of issue 12 is "
                            f"missing or did not open\n" + s.log_tail(30), pytrace=False)
            time.sleep(0.05)


# --- metrics ----------------------------------------------------------------------------------

def scrape(admin: int) -> Dict[str, float]:
    """/metrics as {"name" or "name{labels}": value}."""
    with urllib.request.urlopen(f"http://{HOST}:{admin}/metrics", timeout=5) as r:
        text = r.read().decode()
    out: Dict[str, float] = {}
    for line in text.splitlines():
        if line and not line.startswith("#"):
            key, _, value = line.rpartition(" ")
            out[key] = float(value)
    return out


def handshakes(m: Dict[str, float], transport: str) -> float:
    return m.get(f'turnd_tls_handshakes_total{{transport="{transport}"}}', 0.0)


def failures(m: Dict[str, float], transport: str, reason: Optional[str] = None) -> float:
    """turnd_tls_handshake_failures_total of a transport, of one reason or summed."""
    total = 0.0
    for key, v in m.items():
        if key.startswith("turnd_tls_handshake_failures_total{") and f'transport="{transport}"' in key:
            if reason is None or f'reason="{reason}"' in key:
                total += v
    return total


def require_tls_metrics(m: Dict[str, float]) -> None:
    if not any(k.startswith("turnd_tls_handshakes_total") for k in m):
        pytest.fail("/metrics has no turnd_tls_handshakes_total: the TLS metrics of issue 12 are "
                    "missing; names seen: " + ", ".join(sorted({k.split("{")[0] for k in m})),
                    pytrace=False)


def allocations_by_transport(m: Dict[str, float], transport: str) -> Optional[float]:
    """turnd_allocations_by_transport{transport="..."} (None: no such metric)."""
    return m.get(f'turnd_allocations_by_transport{{transport="{transport}"}}')


def open_connections(admin: int, settle_to: Optional[int] = None) -> float:
    """turnd_tcp_connections (TCP and TLS connections and DTLS sessions); with settle_to, first
    wait (up to 3 s) until it is that many: the launcher's readiness probes and closed clients
    leave the gauge a moment after they are gone."""
    if settle_to is not None:
        wait_for(lambda: scrape(admin)["turnd_tcp_connections"] == settle_to, 3)
    return scrape(admin)["turnd_tcp_connections"]


def wait_for(predicate, timeout: float, step: float = 0.05) -> bool:
    end = time.monotonic() + timeout
    for _ in range(100000):
        if predicate():
            return True
        if time.monotonic() > end:
            return False
        time.sleep(step)
    return False


# --- openssl s_client -------------------------------------------------------------------------

@dataclasses.dataclass
class SClient:
    cmd: List[str]
    rc: object
    out: str
    stdout_bytes: bytes = b""

    def _new_line(self):
        """('TLSv1.3', 'TLS_AES_256_GCM_SHA384') from "New, TLSv1.3, Cipher is ..." (printed
        after every handshake, unlike the SSL-Session block, which TLS 1.3 prints only once a
        ticket came); cipher "(NONE)" when the handshake failed."""
        m = re.search(r"^New, (\S+), Cipher is (\S+)", self.out, re.M)
        return (m.group(1), m.group(2)) if m else (None, None)

    @property
    def protocol(self) -> Optional[str]:
        """The session's protocol (DTLSv1.2 too; the "New," line says TLSv1.2 for DTLS)."""
        m = re.search(r"^\s*Protocol\s*:\s*(\S+)", self.out, re.M)
        return m.group(1) if m else self._new_line()[0]

    @property
    def cipher(self) -> Optional[str]:
        return self._new_line()[1]

    @property
    def alpn(self) -> Optional[str]:
        m = re.search(r"^ALPN protocol: (\S+)", self.out, re.M)
        return m.group(1) if m else None

    @property
    def no_alpn(self) -> bool:
        return "No ALPN negotiated" in self.out

    @property
    def handshake_ok(self) -> bool:
        return self.cipher not in (None, "(NONE)")

    @property
    def cert_der(self) -> Optional[bytes]:
        m = re.search(r"-----BEGIN CERTIFICATE-----.*?-----END CERTIFICATE-----", self.out, re.S)
        return ssl.PEM_cert_to_DER_cert(m.group(0)) if m else None

    def describe(self) -> str:
        tail = "\n".join(self.out.splitlines()[-40:])
        return f"\n$ {' '.join(self.cmd)}  (exit {self.rc})\n{tail}"


def s_client(addr: Tuple[str, int], *args: str, dtls: bool = False, stdin: bytes = b"",
             timeout: float = 10.0) -> SClient:
    """One openssl s_client run to addr; stdin is sent, then EOF ends the session."""
    cmd = [OPENSSL, "s_client", "-connect", procs.fmt_hostport(*addr)]
    if dtls:
        cmd.append("-dtls1_2")
    cmd += list(args)
    try:
        r = subprocess.run(cmd, input=stdin, capture_output=True, timeout=timeout)
        return SClient(cmd, r.returncode, (r.stdout + r.stderr).decode("utf-8", "replace"), r.stdout)
    except subprocess.TimeoutExpired as e:
        out = ((e.stdout or b"") + (e.stderr or b"")).decode("utf-8", "replace")
        return SClient(cmd, "timeout", out + f"\n[s_client timed out after {timeout} s]")


def s_client_interactive(addr: Tuple[str, int], args: Sequence[str], writes: Sequence[bytes],
                         pause: float = 0.5) -> SClient:
    """s_client with its stdin kept open: each of `writes` goes in after `pause` seconds, then
    after one more pause s_client is stopped by PID (SIGTERM). Without -quiet or -ign_eof a
    write "R\n" renegotiates and "k\n"/"K\n" send a TLS 1.3 KeyUpdate."""
    cmd = [OPENSSL, "s_client", "-connect", procs.fmt_hostport(*addr), *args]
    p = subprocess.Popen(cmd, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                         stderr=subprocess.PIPE, start_new_session=True)
    try:
        for data in writes:
            time.sleep(pause)
            try:
                p.stdin.write(data)
                p.stdin.flush()
            except BrokenPipeError:
                break  # s_client gave up (its output says why)
        time.sleep(pause)
    finally:
        if p.poll() is None:
            os.kill(p.pid, signal.SIGTERM)
        out, err = p.communicate(timeout=10)
    return SClient(cmd, p.returncode, (out + err).decode("utf-8", "replace"), out)


def served_fingerprint(addr: Tuple[str, int], servername: Optional[str] = None) -> Optional[str]:
    """SHA-256 of the certificate a fresh TLS handshake gets (Python ssl, no verification)."""
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    try:
        with socket.create_connection(addr, timeout=3) as raw:
            with ctx.wrap_socket(raw, server_hostname=servername) as t:
                return fingerprint(t.getpeercert(binary_form=True))
    except (OSError, ssl.SSLError):
        return None


# --- a UDP peer -------------------------------------------------------------------------------

class EchoPeer:
    """A UDP peer on loopback that echoes every datagram back (a thread), counting them."""

    def __init__(self, host: str = HOST):
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.bind((host, 0))
        self.sock.settimeout(0.2)
        self.address = self.sock.getsockname()
        self.received = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                data, src = self.sock.recvfrom(65536)
            except socket.timeout:
                continue
            except OSError:
                return
            self.received += 1
            try:
                self.sock.sendto(data, src)
            except OSError:
                pass

    def close(self) -> None:
        self._stop.set()
        self._thread.join(2)
        self.sock.close()


class NumberedRelay:
    """A TURN client relaying numbered messages through a channel to an EchoPeer, one at a time
    (each must come back before the next goes), in a thread until stop(). lost: numbers that did
    not come back within 2 s; wrong: replies that were not the one expected."""

    def __init__(self, client, channel: int, peer: EchoPeer, interval: float = 0.02):
        self.client, self.channel, self.peer, self.interval = client, channel, peer, interval
        self.sent = 0
        self.lost: List[int] = []
        self.wrong: List[bytes] = []
        self.max_rtt = 0.0
        self.error: Optional[str] = None
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def start(self) -> "NumberedRelay":
        self._thread.start()
        return self

    def _run(self) -> None:
        try:
            for i in range(1_000_000):
                if self._stop.is_set():
                    return
                payload = b"seq-%08d" % i
                t0 = time.monotonic()
                self.client.send_channel_data(self.channel, payload)
                self.sent += 1
                got = self.client.recv_channel_data(2.0)
                if got is None:
                    self.lost.append(i)
                elif got != (self.channel, payload):
                    self.wrong.append(got[1])
                self.max_rtt = max(self.max_rtt, time.monotonic() - t0)
                time.sleep(self.interval)
        except Exception as e:  # noqa: BLE001 - reported by stop()
            self.error = f"{type(e).__name__}: {e}"

    def advances(self, n: int = 5, timeout: float = 5.0) -> bool:
        """True when n more messages went round within timeout (the session still relays)."""
        start = self.sent
        return wait_for(lambda: self.sent >= start + n and not self.lost, timeout)

    def stop(self) -> "NumberedRelay":
        self._stop.set()
        self._thread.join(10)
        return self

    def summary(self) -> str:
        return (f"sent {self.sent}, lost {len(self.lost)} {self.lost[:10]}, wrong {len(self.wrong)}, "
                f"max round trip {self.max_rtt * 1000:.0f} ms, error {self.error}")
