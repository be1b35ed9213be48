"""Helpers shared by the hardening tests: flags the binary may not have yet, /metrics scrapes,
and what /proc says about the server process (memory, CPU time, descriptors)."""

from __future__ import annotations

import os
import time
import urllib.request
from typing import Callable, Dict, List, Optional

import _paths  # noqa: F401
import procs

CLK_TCK = os.sysconf("SC_CLK_TCK")
PAGE = os.sysconf("SC_PAGE_SIZE")


def flags_if_supported(*pairs) -> List[str]:
    """("--flag", "value") pairs, kept only when `turnd --help` lists the flag. A test meant to
    fail on a binary without the limit then runs against its defaults and shows the defect,
    instead of failing at start-up on an unknown flag."""
    out: List[str] = []
    for flag, value in pairs:
        if procs.TurndProcess.supports(flag):
            out += [flag, str(value)]
    return out


def admin_args(port: int) -> List[str]:
    """The admin listener, and the per-source limits applied to loopback clients too: every
    client of these tests is 127.0.0.x, which turnd exempts by default."""
    loopback = ["--limit-loopback"] if procs.TurndProcess.supports("--limit-loopback") else []
    return ["--admin-listen", f"127.0.0.1:{port}"] + loopback


def scrape(port: int) -> Dict[str, float]:
    """/metrics as {"name" or "name{labels}": value}."""
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5) as r:
        text = r.read().decode()
    out: Dict[str, float] = {}
    for line in text.splitlines():
        if not line or line.startswith("#"):
            continue
        key, _, value = line.rpartition(" ")
        out[key] = float(value)
    return out


def metric(port: int, key: str, default: Optional[float] = None) -> float:
    m = scrape(port)
    if key in m:
        return m[key]
    if default is not None:
        return default
    raise AssertionError(f"metric {key} missing; have: {sorted(m)}")


def rss_bytes(pid: int) -> int:
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
    raise AssertionError("no VmRSS")


def cpu_seconds(pid: int) -> float:
    """utime + stime of the whole process (all threads)."""
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / CLK_TCK


def fd_count(pid: int) -> int:
    return len(os.listdir(f"/proc/{pid}/fd"))


def wait_for(predicate: Callable[[], bool], timeout: float, step: float = 0.05) -> bool:
    end = time.monotonic() + timeout
    while True:
        if predicate():
            return True
        if time.monotonic() > end:
            return False
        time.sleep(step)


def report(title: str, rows) -> None:
    """Prints a figure for docs/RELIABILITY.md (visible with pytest -s or in the ctest log)."""
    print(f"\n[figures] {title}")
    for r in rows:
        print("  " + r)
