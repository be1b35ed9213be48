"""Soak: many TURN allocations with refreshes, permissions, channel traffic and churn for a
bounded time against a fresh turnd, then every allocation deleted (issue 9, "Then widen the net").

The load is tests/soak/soak_client.cpp (C++, one epoll loop: a Python client cannot hold 10,000
allocations with traffic on one shared core). This file starts turnd (tests/lib/procs.py), runs the
client, samples the server's /proc/PID/status VmRSS and /proc/PID/fd once a second, reads /metrics
from the admin listener, and checks:
  - the client: every allocation established, no transaction failed, no unexpected error code,
    at least SOAK_MIN_ECHO of the relayed packets came back from the echo peers;
  - while the load holds: turnd_allocations == turnd_relay_ports_in_use == SOAK_ALLOCATIONS;
  - RSS flat after warm-up: the peak over the rest of the steady phase exceeds the RSS at the
    end of warm-up by at most max(SOAK_RSS_PCT % of it, SOAK_RSS_MIB MiB);
  - after the client deleted everything: turnd_allocations and turnd_relay_ports_in_use back to 0
    and the descriptor count back to what it was before the load.

Environment (defaults = the ctest entry soak.10k):
  TURND_BIN, SOAK_CLIENT       binaries (SOAK_CLIENT: build/tests/soak/soak_client)
  SOAK_ALLOCATIONS=10000       allocations held at once
  SOAK_SECONDS=120             steady phase after warm-up (longer runs: tests/soak/run_soak.sh)
  SOAK_WARMUP=30               seconds of the steady phase counted as warm-up for the RSS check
  SOAK_RATE=5000               ChannelData packets a second from all clients (echoed back: x2)
  SOAK_CHURN=25                allocations deleted and recreated a second
  SOAK_REFRESH=40              seconds between Refresh + CreatePermission + ChannelBind cycles
  SOAK_TCP_PERCENT=10          allocations over TCP (one connection each)
  SOAK_SOURCES=16              client source addresses 127.0.0.10 ...
  SOAK_SETUP_RATE=1000         new allocations a second during warm-up
  SOAK_THREADS=2               turnd --threads
  SOAK_RSS_PCT=5, SOAK_RSS_MIB=4 RSS tolerance. 10,000 allocations settle at ~32 MB; 120 s of churn
                               and refreshes then add < 1 MB (allocator settling). 4 MiB catches a
                               leak of ~1.4 kB per churned allocation or ~160 B per refresh cycle.
  SOAK_RSS_CHECK=0             no RSS check (asan.soak: ASan's quarantine of freed memory grows RSS
                               by design; LeakSanitizer at exit checks leaks there instead)
  SOAK_MIN_ECHO=0.95
  SOAK_REPORT=path             also write the figures as JSON there
"""

import json
import os
import re
import resource
import socket
import subprocess
import sys
import threading
import time
import urllib.request

import pytest

sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "lib"))
import procs  # noqa: E402

RELAY_IP = "127.0.0.77"   # relay sockets on their own loopback address: no clash with the
PEER_IP = "127.0.0.200"   # 127.0.0.1 port blocks of the other tests (procs.py)


def env_num(name, default, kind=int):
    return kind(os.environ.get(name, default))


ALLOCATIONS = env_num("SOAK_ALLOCATIONS", 10000)
SECONDS = env_num("SOAK_SECONDS", 120, float)
WARMUP = env_num("SOAK_WARMUP", 30, float)
RSS_PCT = env_num("SOAK_RSS_PCT", 5, float)
RSS_MIB = env_num("SOAK_RSS_MIB", 4, float)
RSS_CHECK = os.environ.get("SOAK_RSS_CHECK", "1") == "1"
MIN_ECHO = env_num("SOAK_MIN_ECHO", 0.95, float)


def soak_client():
    path = os.environ.get("SOAK_CLIENT") or os.path.join(procs.REPO, "build", "tests", "soak",
                                                         "soak_client")
    if not os.access(path, os.X_OK):
        pytest.fail(f"soak client not built: {path} (cmake --build BUILD --target soak_client)")
    return path


def relay_window(size):
    """The top of the ports below the ephemeral range, on RELAY_IP only."""
    eph_lo, _ = procs._ephemeral_range()
    hi = eph_lo - 1
    lo = hi - size + 1
    if lo < 1024:
        pytest.fail(f"no room for {size} relay ports below the ephemeral range ({eph_lo})")
    busy = sum(not procs._can_bind(p, (socket.SOCK_DGRAM,), (RELAY_IP,))
               for p in range(lo, hi + 1))
    assert busy <= size // 100, f"{busy} of the relay ports {lo}-{hi} on {RELAY_IP} are taken"
    return lo, hi


def read_status(pid):
    with open(f"/proc/{pid}/status") as f:
        rss = int(re.search(r"^VmRSS:\s+(\d+) kB", f.read(), re.M).group(1))
    return rss, len(os.listdir(f"/proc/{pid}/fd"))


def metrics(port):
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5) as r:
        text = r.read().decode()
    out = {}
    for line in text.splitlines():
        m = re.match(r"^([a-z_]+)(\{[^}]*\})?\s+([0-9.eE+-]+)$", line)
        if m:
            out[m.group(1)] = out.get(m.group(1), 0.0) + float(m.group(3))
    return out


def wait_for(what, fn, timeout=20.0):
    deadline = time.monotonic() + timeout
    while True:
        value = fn()
        if value is True or time.monotonic() > deadline:
            return value
        time.sleep(0.25)


class Sampler(threading.Thread):
    """(monotonic time, VmRSS kB, open fds) of the server once a second."""

    def __init__(self, pid):
        super().__init__(daemon=True)
        self.pid, self.samples, self.stop_event = pid, [], threading.Event()

    def run(self):
        while not self.stop_event.is_set():
            try:
                self.samples.append((time.monotonic(), *read_status(self.pid)))
            except (OSError, AttributeError):
                return
            self.stop_event.wait(1.0)


def server_flags(binary):
    """Per-source limits off where this turnd has them: 16 source addresses carry
    ~600 allocations and (at 10 % TCP) ~60 TCP connections each, far above a single client."""
    wanted = [("--max-unauthenticated-per-second", "0"), ("--max-unauthenticated-bytes-per-second", "0"),
              ("--max-connections-per-source", "0"), ("--max-connections", "0")]
    flags = []
    for flag, value in wanted:
        if procs.TurndProcess.supports(flag, binary):
            flags += [flag, value]
    return flags


def test_soak(tmp_path):
    client = soak_client()
    hard = resource.getrlimit(resource.RLIMIT_NOFILE)[1]
    need = ALLOCATIONS + ALLOCATIONS // 5 + 200  # turnd: a relay socket per allocation + TCP
    assert hard == resource.RLIM_INFINITY or hard >= need, \
        f"the hard descriptor limit ({hard}) is below the {need} this soak needs (ulimit -Hn)"
    binary = procs.turnd_binary()
    secret = "soak-" + os.urandom(8).hex()
    port = procs.free_port()
    admin = procs.free_port("tcp")
    lo, hi = relay_window(ALLOCATIONS + ALLOCATIONS // 5 + 200)
    config = procs.ServerConfig(
        listen=(("127.0.0.1", port),), secrets=(secret,), relay_ips=(RELAY_IP,), relay_ports=(lo, hi),
        threads=env_num("SOAK_THREADS", 2), log_level="info",
        extra_args=["--admin-listen", f"127.0.0.1:{admin}"] + server_flags(binary))
    server = procs.TurndProcess(config, log_dir=str(tmp_path))
    with server:
        pid = server.proc.pid
        time.sleep(1.0)
        rss0, fds0 = read_status(pid)
        m0 = metrics(admin)
        sampler = Sampler(pid)
        sampler.start()
        cmd = [client, "--server", f"127.0.0.1:{port}", "--secret", secret,
               "--allocations", str(ALLOCATIONS), "--duration", str(SECONDS),
               "--sources", os.environ.get("SOAK_SOURCES", "16"), "--peer-ip", PEER_IP,
               "--rate", os.environ.get("SOAK_RATE", "5000"),
               "--churn", os.environ.get("SOAK_CHURN", "25"),
               "--refresh", os.environ.get("SOAK_REFRESH", "40"),
               "--tcp-percent", os.environ.get("SOAK_TCP_PERCENT", "10"),
               "--setup-rate", os.environ.get("SOAK_SETUP_RATE", "1000"),
               "--setup-timeout", str(max(60, 3 * ALLOCATIONS / 1000))]
        print("$", " ".join(cmd), flush=True)
        proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        events, lines, at_ready = {}, [], None
        deadline = time.monotonic() + SECONDS + 3 * ALLOCATIONS / 1000 + 180
        try:
            for line in proc.stdout:
                lines.append(line.rstrip())
                print(line.rstrip(), flush=True)
                m = re.match(r"event=(\w+)", line)
                if not m:
                    continue
                events[m.group(1)] = (time.monotonic(), dict(re.findall(r"(\w+)=([\w.]+)", line)))
                if m.group(1) == "ready":
                    at_ready = metrics(admin)
                    print("metrics at ready:", {k: at_ready.get(k) for k in
                                               ("turnd_allocations", "turnd_relay_ports_in_use",
                                                "turnd_tcp_connections")}, flush=True)
                if time.monotonic() > deadline:
                    break
            proc.wait(timeout=max(1, deadline - time.monotonic()))
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.wait()
        server.assert_alive()

        # everything deleted: allocations, ports and descriptors back
        def drained():
            m = metrics(admin)
            return (m.get("turnd_allocations") == 0 and m.get("turnd_relay_ports_in_use") == 0
                    and m.get("turnd_tcp_connections", 0) == 0) or m

        m_end = wait_for("drained", drained)
        time.sleep(1.5)  # one more sample after the last close
        sampler.stop_event.set()
        sampler.join()
        rss1, fds1 = read_status(pid)
        fds_settled = wait_for("fds", lambda: read_status(pid)[1] == fds0 or read_status(pid)[1])
        m_after = metrics(admin)

    assert "result" in events, "soak client ended without a result line:\n" + "\n".join(lines[-30:])
    result = {k: float(v) for k, v in events["result"][1].items() if k != "event"}
    t_ready = events.get("ready", (None,))[0]
    t_drain_start = t_ready + SECONDS if t_ready else None
    steady = [s for s in sampler.samples if t_ready and t_ready + WARMUP <= s[0] <= t_drain_start]
    rss_warm = steady[0][1] if steady else None
    rss_peak = max(s[1] for s in steady) if steady else None
    report = {
        "allocations": ALLOCATIONS, "steady_s": SECONDS, "warmup_s": result.get("warmup_s"),
        "rss_before_kb": rss0, "rss_at_warmup_kb": rss_warm, "rss_peak_steady_kb": rss_peak,
        "rss_after_kb": rss1, "fds_before": fds0, "fds_peak": max(s[2] for s in sampler.samples),
        "fds_after": fds1, "client": result,
        "metrics_at_ready": {k: at_ready.get(k) for k in ("turnd_allocations", "turnd_relay_ports_in_use",
                                                          "turnd_tcp_connections")} if at_ready else None,
        "metrics_after": {k: m_after.get(k) for k in ("turnd_allocations", "turnd_relay_ports_in_use",
                                                      "turnd_tcp_connections",
                                                      "turnd_allocations_created_total",
                                                      "turnd_allocations_deleted_total",
                                                      "turnd_allocations_expired_total")},
        "rss_series_kb": [(round(t - sampler.samples[0][0]), r) for t, r, _ in sampler.samples[::10]],
    }
    print("SOAK REPORT " + json.dumps(report), flush=True)
    if os.environ.get("SOAK_REPORT"):
        with open(os.environ["SOAK_REPORT"], "w") as f:
            json.dump(report, f, indent=1)

    assert proc.returncode == 0 and result["failures"] == 0 and result["unexpected"] == 0, \
        "soak client reported failures:\n" + "\n".join(lines[-30:])
    assert t_ready, "the allocations were never all established"
    assert result["created"] >= ALLOCATIONS and result["deleted"] == result["created"]
    assert result["sent"] > 0 and result["echoed"] >= MIN_ECHO * result["sent"], \
        f"only {result['echoed']:.0f} of {result['sent']:.0f} packets came back"
    assert at_ready["turnd_allocations"] == ALLOCATIONS, at_ready
    assert at_ready["turnd_relay_ports_in_use"] == ALLOCATIONS, at_ready
    created = m_after["turnd_allocations_created_total"] - m0.get("turnd_allocations_created_total", 0)
    assert created == result["created"], (created, result["created"])
    assert m_end is True, f"allocations, relay ports or TCP connections not back to 0: {m_end}"
    assert fds_settled is True, f"descriptors: {fds0} before the load, {fds_settled} after"
    assert len(steady) >= 3, f"too few RSS samples in the steady phase ({len(steady)})"
    if not RSS_CHECK:
        return
    allowed = max(rss_warm * RSS_PCT / 100, RSS_MIB * 1024)
    assert rss_peak - rss_warm <= allowed, \
        (f"RSS grew {rss_peak - rss_warm} kB after warm-up (from {rss_warm} kB; allowed {allowed:.0f} kB)"
         f": {report['rss_series_kb']}")
