"""turnd under an operator's signals (issue 11), while allocations relay numbered datagrams:
SIGHUP reloads the --config file (secrets, log level, peer filter apply; a broken file is
refused; restart-only keys are named and kept; a storm of SIGHUPs loses nothing), SIGTERM
drains (/readyz 503, new Allocates get 508 or 300 ALTERNATE-SERVER, existing allocations
relay and refresh until released or shutdown_grace runs out, then exit 0), SIGINT or a second
SIGTERM stops at once, and sd_notify says READY, RELOADING, READY, STOPPING in that order.

Everything a test changes lives in the file only: turnd re-reads its whole command line on
SIGHUP, so a flag would win over the file on every reload (the launcher passes no
--log-level, --auth-secret or --allow-peer here). turnd only: coturn has none of this."""

import json
import os
import re
import signal
import socket
import tempfile
import threading
import time
import urllib.error
import urllib.request

import pytest

import _paths  # noqa: F401
import procs
from conftest import SERVER_KIND, _LIVE, require_server_binary
from turnclient import StunClient, TurnClient, rest_credentials

pytestmark = pytest.mark.skipif(SERVER_KIND != "turnd", reason="turnd's reload, drain and sd_notify")

KEEP, OLD, NEW = "lifecycle-keep", "lifecycle-old", "lifecycle-new"
CHANNEL = 0x4000
RATE = 200                      # datagrams per second, each way
ALTERNATE = ("127.0.0.1", 3479)


# --- the config file and the server -----------------------------------------------------------

def write_config(path, secrets, admin_port, log_level="info", deny=(), **top):
    """The whole config as JSON (which is YAML), replaced in one rename: a SIGHUP never reads a
    half-written file. `top` adds top-level keys (shutdown_grace, alternate_servers)."""
    doc = {"log": {"level": log_level},
           "auth": {"secrets": list(secrets)},
           "relay": {"allow_peers": ["127.0.0.0/8", "::1/128"], "deny_peers": list(deny)},
           "admin": {"listen": f"127.0.0.1:{admin_port}"}}
    doc.update(top)
    write_text(path, json.dumps(doc, indent=2) + "\n")


def write_text(path, text):
    tmp = f"{path}.new"
    with open(tmp, "wb") as f:
        f.write(text if isinstance(text, bytes) else text.encode())
    os.replace(tmp, path)


@pytest.fixture
def launch(threads, tmp_path):
    """launch(**config) -> a running turnd reading tmp_path/turnd.yaml (server.conf) with its
    admin listener on server.admin; start=False returns it unstarted. Stopped and crash-checked
    after the test unless the test stopped it."""
    started = []

    def start(start=True, env=None, **config):
        require_server_binary()
        conf, admin = tmp_path / "turnd.yaml", procs.free_port("tcp")
        config.setdefault("secrets", [KEEP])
        write_config(conf, admin_port=admin, **config)
        server_dir = tmp_path / f"turnd-{len(started)}"
        server_dir.mkdir()
        s = procs.TurndProcess(procs.ServerConfig(
            threads=threads, secrets=(), allow_peers=(), log_level=None, env=env,
            extra_args=["--config", str(conf)]), log_dir=str(server_dir))
        s.conf, s.admin = conf, admin
        started.append(s)
        _LIVE.append(s)  # its log goes into a failure report
        if start:
            s.start()
        return s

    yield start
    errors = []
    for s in started:
        _LIVE.remove(s)
        if s.returncode is None:
            try:
                s.stop(check=True)
            except AssertionError as e:
                errors.append(str(e))
    if errors:
        pytest.fail("\n".join(errors), pytrace=False)


def http_get(port, path):
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}{path}", timeout=5) as r:
            return r.status, r.read().decode()
    except urllib.error.HTTPError as e:
        return e.code, e.read().decode()


def metric(server, key):
    status, text = http_get(server.admin, "/metrics")
    assert status == 200, text
    for line in text.splitlines():
        name, _, value = line.rpartition(" ")
        if name == key:
            return float(value)
    raise AssertionError(f"no {key} in /metrics:\n{text}")


def reloads(server):
    return tuple(int(metric(server, f'turnd_config_reloads_total{{result="{r}"}}'))
                 for r in ("applied", "refused"))


def wait_for(predicate, timeout, what, server=None):
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout} s waiting for {what}\n"
                                 + (server.log_tail() if server else ""))
        time.sleep(0.05)


def sighup(server, expect):
    """SIGHUP, then wait until the (applied, refused) counters read `expect`."""
    os.kill(server.proc.pid, signal.SIGHUP)
    wait_for(lambda: reloads(server) == expect, 10, f"reload counters {expect}", server)


def allocate(server, secret, family="v4", user="probe"):
    """(client, final Allocate response) with a REST credential of `secret`."""
    username, password = rest_credentials(secret, user)
    c = TurnClient(server.address_for(family), "udp", username=username, password=password)
    return c, c.allocate()


def allocate_once(server, secret, family="v4"):
    """The final Allocate response of a client closed right after."""
    c, r = allocate(server, secret, family)
    c.close()
    return r


def code_of(resp):
    assert resp is not None, "no response"
    return 200 if resp.is_success else resp.error_code


# --- numbered datagrams both ways through a channel ------------------------------------------

class Stream:
    """A client allocation with a channel to a peer socket on 127.0.0.1; while running, RATE
    numbered datagrams per second go peer -> relay -> client and client -> relay -> peer, each
    side read by its own thread (no socket buffer fills up). The client belongs to the threads
    until stop()."""

    def __init__(self, server):
        self.client, resp = allocate(server, KEEP, user="stream")
        assert code_of(resp) == 200, resp
        self.peer = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.peer.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 1 << 20)  # as the client's
        self.peer.bind(("127.0.0.1", 0))
        r = self.client.channel_bind(CHANNEL, self.peer.getsockname())
        assert code_of(r) == 200, r
        self.relay = self.client.relayed[0]
        self.sent = 0
        self.to_client, self.to_peer = [], []
        self._stop, self._sent_all = threading.Event(), threading.Event()
        self._threads = [threading.Thread(target=f, daemon=True)
                         for f in (self._send, self._read_client, self._read_peer)]

    def __enter__(self):
        for t in self._threads:
            t.start()
        return self

    def __exit__(self, *exc):
        self.stop()

    def _send(self):
        start = time.monotonic()
        for seq in range(RATE * 60):  # bounded: a minute at most
            if self._stop.is_set():
                break
            data = b"seq %08d" % seq
            self.peer.sendto(data, self.relay)
            self.client.send_channel_data(CHANNEL, data)
            self.sent = seq + 1
            time.sleep(max(0.0, start + (seq + 1) / RATE - time.monotonic()))
        self._sent_all.set()

    def _read(self, recv, out):
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            got = recv()
            if got is None:
                if self._sent_all.is_set():
                    return  # a second's quiet after the last send: nothing is in flight
                continue
            if got.startswith(b"seq "):
                out.append(int(got[4:]))

    def _read_client(self):
        def recv():
            r = self.client.recv_channel_data(1.0)
            return None if r is None or r[0] != CHANNEL else r[1]
        self._read(recv, self.to_client)

    def _read_peer(self):
        self.peer.settimeout(1.0)

        def recv():
            try:
                data, src = self.peer.recvfrom(2048)
            except socket.timeout:
                return None
            return data if src == self.relay else b"from elsewhere"
        self._read(recv, self.to_peer)

    def stop(self):
        self._stop.set()
        for t in self._threads:
            t.join(timeout=10)
        assert not any(t.is_alive() for t in self._threads), "stream threads did not finish"

    def assert_no_loss(self, at_least):
        assert self.sent >= at_least, f"only {self.sent} datagrams sent"
        for name, got in (("peer -> client", self.to_client), ("client -> peer", self.to_peer)):
            missing = sorted(set(range(self.sent)) - set(got))
            assert not missing, (f"{name}: {len(missing)} of {self.sent} datagrams lost, "
                                 f"first {missing[:10]}")

    def close(self):
        self.client.close()
        self.peer.close()


# --- reload --------------------------------------------------------------------------------

def test_reload_under_traffic(launch):
    server = launch(secrets=[KEEP, OLD], log_level="info")
    assert reloads(server) == (0, 0)
    probe, r = allocate(server, KEEP)
    assert code_of(r) == 200, r
    assert code_of(probe.create_permission(["127.0.0.2"])) == 200
    assert code_of(probe.refresh(600)) == 200
    revoked, r = allocate(server, OLD, user="revoked")
    assert code_of(r) == 200, r
    stream = Stream(server)
    with stream:
        time.sleep(0.5)
        write_config(server.conf, [KEEP, NEW], server.admin, log_level="debug",
                     deny=["127.0.0.2/32"])
        sighup(server, (1, 0))
        time.sleep(1.0)  # traffic after the reload too
    stream.assert_no_loss(at_least=RATE)
    log = server.log_text()
    assert f"configuration reloaded from {server.conf}" in log
    assert "refreshed" not in log, "a debug line before the reload, at log.level info"

    # secrets: the new one works, the removed one is 401, the kept one relayed throughout
    fresh, r = allocate(server, NEW)
    assert code_of(r) == 200, r
    r = allocate_once(server, OLD)
    assert code_of(r) == 401, r
    # ... also on an allocation made with it before (it stays until it expires)
    assert code_of(revoked.refresh(600)) == 401
    # peer filter: 127.0.0.2 is denied now, for an allocation made before and one made after
    assert code_of(probe.create_permission(["127.0.0.2"])) == 403
    assert code_of(fresh.create_permission(["127.0.0.2"])) == 403
    assert code_of(fresh.create_permission(["127.0.0.3"])) == 200
    # log level: a Refresh logs at debug now
    assert code_of(stream.client.refresh(600)) == 200
    wait_for(lambda: "refreshed" in server.log_text(), 5, "a debug line after the reload", server)
    assert reloads(server) == (1, 0)
    for c in (probe, fresh, revoked):
        c.close()
    stream.close()


BROKEN = [  # (what, file text or None to delete it, the error in the log)
    ("invalid YAML", "log:\n  level: [debug\n", r"{conf}:\d+: invalid YAML"),
    ("invalid value", "log:\n  level: loud\nauth:\n  secrets: [x]\n",
     r"{conf}:2: log\.level: \"loud\""),
    ("unknown key", "auth:\n  secrets: [x]\n  secretz: [y]\n", r"{conf}:3: auth\.secretz"),
    ("no credentials", "log:\n  level: debug\n", r"{conf}: names no credentials"),
    ("a binary file", bytes(range(256)) * 4, r"{conf}"),
    ("no file", None, r"cannot read {conf}"),
]


def test_broken_config_refused_and_restart_only_named(launch):
    server = launch(secrets=[KEEP, OLD])
    kept, r = allocate(server, KEEP, user="kept")
    assert code_of(r) == 200, r
    for i, (what, text, error) in enumerate(BROKEN, start=1):
        if text is None:
            os.unlink(server.conf)
        else:
            write_text(server.conf, text)
        sighup(server, (0, i))
        pattern = "reload refused, still running on the previous config: " + \
            error.format(conf=re.escape(str(server.conf)))
        # the counter moves just before the line is written
        wait_for(lambda: re.search(pattern, server.log_text()), 5,
                 f"{what}: a line matching {pattern!r}", server)
        r = allocate_once(server, OLD)
        assert code_of(r) == 200, f"{what}: the old secret no longer works: {r}"
    assert code_of(kept.refresh(600)) == 200
    with StunClient(server.address_for("v4")) as s:
        assert s.binding() is not None

    # a restart-only key changes along with a secret: the key is named, the secret applies
    doc = {"auth": {"secrets": [KEEP, NEW], "nonce_lifetime": 300},
           "relay": {"allow_peers": ["127.0.0.0/8"], "external_ips": ["192.0.2.7/127.0.0.1"]},
           "admin": {"listen": f"127.0.0.1:{server.admin}"}}
    write_text(server.conf, json.dumps(doc, indent=2))
    sighup(server, (1, len(BROKEN)))
    log = server.log_text()
    for key in ("auth.nonce_lifetime", "relay.external_ips"):
        assert f"reload: {key} changed in {server.conf}: it needs a restart" in log, key
    r = allocate_once(server, NEW)
    assert code_of(r) == 200, r
    assert r.xor_relayed_address[0] == "127.0.0.1", "relay.external_ips applied without a restart"
    r = allocate_once(server, OLD)
    assert code_of(r) == 401, r
    assert code_of(kept.refresh(600)) == 200
    kept.close()


def test_sighup_storm(launch):
    """50 SIGHUPs in a tight loop, the file flipping between two secrets, while relaying: no
    crash, no lost datagram, the allocation lives, and the last file written is what runs."""
    server = launch(secrets=[KEEP, OLD])
    stream = Stream(server)
    with stream:
        time.sleep(0.3)
        for i in range(50):
            write_config(server.conf, [KEEP, NEW if i % 2 else OLD], server.admin)
            os.kill(server.proc.pid, signal.SIGHUP)
        seen = None
        for _ in range(40):  # until the counters stand still for half a second; 20 s at most
            time.sleep(0.5)
            if reloads(server) == seen:
                break
            seen = reloads(server)
        else:
            raise AssertionError(f"reloads still going on 20 s after the storm: {seen}")
    stream.assert_no_loss(at_least=RATE // 2)
    applied, refused = reloads(server)
    assert refused == 0 and 1 <= applied <= 50, (applied, refused)
    assert server.log_text().count("configuration reloaded from") == applied
    assert code_of(stream.client.refresh(600)) == 200
    for secret, want in ((NEW, 200), (OLD, 401), (KEEP, 200)):
        r = allocate_once(server, secret)
        assert code_of(r) == want, (secret, r)
    stream.close()


# --- drain -----------------------------------------------------------------------------------

class Stopper(threading.Thread):
    """server.stop(sig) in the background (SIGTERM, then wait for the exit), so the test can
    watch the drain meanwhile; finish() checks the exit and returns the seconds it took."""

    def __init__(self, server, sig=signal.SIGTERM):
        super().__init__(daemon=True)
        self.server, self.sig = server, sig
        self.sent_at = self.exited_at = None

    def run(self):
        self.sent_at = time.monotonic()
        self.server.stop(check=False, sig=self.sig)
        self.exited_at = time.monotonic()

    def begin(self):
        self.start()
        wait_for(lambda: self.sent_at is not None, 5, "the stopper thread")
        return self

    def finish(self, timeout):
        self.join(timeout)
        assert not self.is_alive(), f"turnd still running {timeout} s later"
        s = self.server
        assert s.crash is None and s.returncode == 0, \
            f"exit {procs.describe_status(s.returncode)}: {s.crash}\n{s.log_tail()}"
        return self.exited_at - self.sent_at


def wait_draining(server, since):
    wait_for(lambda: http_get(server.admin, "/readyz")[0] == 503, 10, "/readyz 503", server)
    took = time.monotonic() - since
    assert took < 2.0, f"/readyz turned 503 only {took:.1f} s after SIGTERM"
    assert metric(server, "turnd_draining") == 1
    assert http_get(server.admin, "/healthz")[0] == 200, "alive while draining"


def test_drain_until_released(launch):
    """Alternate servers configured: an IPv4 client is sent there (300), an IPv6 one, with no
    alternate of its family, gets 508. The last allocation's release ends turnd at once."""
    server = launch(shutdown_grace="5s", alternate_servers=["%s:%d" % ALTERNATE])
    assert http_get(server.admin, "/readyz")[0] == 200
    assert metric(server, "turnd_draining") == 0
    stream = Stream(server)
    with stream:
        time.sleep(0.3)
        stopper = Stopper(server).begin()
        wait_draining(server, stopper.sent_at)
        c, r = allocate(server, KEEP)
        assert code_of(r) == 300, r
        assert r.alternate_server == ALTERNATE, r
        assert c.verify_response(r) is True, "the 300 must be signed"
        c.close()
        r = allocate_once(server, KEEP, family="v6")
        assert code_of(r) == 508, r
        time.sleep(0.5)
    stream.assert_no_loss(at_least=RATE // 2)
    assert code_of(stream.client.refresh(600)) == 200, "Refresh during the drain"
    assert server.alive()
    released = time.monotonic()
    assert code_of(stream.client.refresh(0)) == 200
    stopper.finish(timeout=10)
    after_release = stopper.exited_at - released
    assert after_release < 2.5, f"turnd exited {after_release:.1f} s after the last release"
    assert "drained: no allocation left" in server.log_text()
    stream.close()


def test_drain_until_grace_runs_out(launch):
    server = launch(shutdown_grace="5s")
    server.stop_timeout = 15
    stream = Stream(server)
    with stream:
        time.sleep(0.3)
        stopper = Stopper(server).begin()
        wait_draining(server, stopper.sent_at)
        r = allocate_once(server, KEEP)
        assert code_of(r) == 508, r
        # a reload while draining applies (alternate servers now) and the drain goes on
        write_config(server.conf, [KEEP], server.admin, shutdown_grace="5s",
                     alternate_servers=["%s:%d" % ALTERNATE])
        sighup(server, (1, 0))
        assert http_get(server.admin, "/readyz")[0] == 503
        r = allocate_once(server, KEEP)
        assert code_of(r) == 300 and r.alternate_server == ALTERNATE, r
        wait_for(lambda: time.monotonic() - stopper.sent_at > 3.5, 10, "3.5 s of draining")
    stream.assert_no_loss(at_least=RATE * 3)
    took = stopper.finish(timeout=15)
    assert 4.5 <= took <= 9, f"turnd exited {took:.1f} s after SIGTERM, shutdown_grace is 5 s"
    assert "shutdown grace over: closing the 1 allocation(s) left" in server.log_text()
    stream.close()


@pytest.mark.parametrize("second", [signal.SIGINT, signal.SIGTERM], ids=["SIGINT", "SIGTERM"])
def test_signal_during_drain_stops_at_once(launch, second):
    server = launch(shutdown_grace="30s")
    c, r = allocate(server, KEEP)
    assert code_of(r) == 200, r
    sent = time.monotonic()
    os.kill(server.proc.pid, signal.SIGTERM)
    wait_draining(server, sent)
    sent = time.monotonic()
    server.stop(check=True, sig=second)
    took = time.monotonic() - sent
    assert server.returncode == 0 and took < 3, (server.returncode, took)
    c.close()


def test_no_grace_exits_at_once(launch):
    server = launch(shutdown_grace=0)
    c, r = allocate(server, KEEP)
    assert code_of(r) == 200, r
    sent = time.monotonic()
    server.stop(check=True, sig=signal.SIGTERM)
    took = time.monotonic() - sent
    assert server.returncode == 0 and took < 3, (server.returncode, took)
    c.close()


# --- sd_notify -------------------------------------------------------------------------------

def test_sd_notify_order(launch, tmp_path):
    """READY=1 once the listeners answer, RELOADING=1 (with MONOTONIC_USEC) and READY=1 around
    every reload, applied or refused, STOPPING=1 at SIGTERM; STATUS= lines may come between."""
    path = str(tmp_path / "notify")
    if len(path) > 100:  # sun_path holds 108 bytes
        path = os.path.join(tempfile.mkdtemp(prefix="turnd-notify-"), "notify")
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    sock.bind(path)
    sock.settimeout(20)
    server = launch(start=False, env={"NOTIFY_SOCKET": path})
    starter = threading.Thread(target=server.start, daemon=True)
    starter.start()
    states = []

    def expect(state, timeout=10):
        """The next datagram that is not a STATUS= line must begin with `state`."""
        deadline = time.monotonic() + timeout
        while True:
            sock.settimeout(max(0.01, deadline - time.monotonic()))
            try:
                msg = sock.recv(4096).decode()
            except socket.timeout:
                raise AssertionError(f"no {state} within {timeout} s; got {states}\n"
                                     + server.log_tail())
            if not msg.startswith("STATUS="):
                states.append(msg)
                assert msg.split("\n")[0] == state, f"expected {state}, got {states}"
                return msg

    expect("READY=1", timeout=20)
    for family in ("v4", "v6"):  # READY came after the listeners were up
        with StunClient(server.address_for(family), timeout=2) as s:
            assert s.binding() is not None, f"no Binding answer on {family} right after READY=1"
        with socket.create_connection(server.address_for(family), timeout=2):
            pass
    starter.join(timeout=30)
    assert server.alive()

    for applied, refused, text in ((1, 0, None), (1, 1, "log: [\n")):
        if text is not None:
            write_text(server.conf, text)
        before = time.clock_gettime(time.CLOCK_MONOTONIC)
        os.kill(server.proc.pid, signal.SIGHUP)
        msg = expect("RELOADING=1")
        usec = re.search(r"^MONOTONIC_USEC=(\d+)$", msg, re.M)
        assert usec, msg
        assert abs(int(usec.group(1)) / 1e6 - before) < 30, (msg, before)
        expect("READY=1")
        assert reloads(server) == (applied, refused)
    server.stop(check=True, sig=signal.SIGTERM)  # no allocation: the drain ends at once
    expect("STOPPING=1")
    assert server.returncode == 0
    sock.close()
