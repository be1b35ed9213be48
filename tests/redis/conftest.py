"""Fixtures of the Redis tests: a redis-server per module, turnctl runs, config files.

Environment:
  TURNCTL_BIN    turnctl binary (default <repo>/build/tools/turnctl)
  TURND_BIN      turnd binary, for the server tests (default <repo>/build/server/turnd)
  REDIS_SERVER   redis-server binary (default: from PATH)
"""

from __future__ import annotations

import dataclasses
import os
import subprocess
from typing import List, Optional, Sequence

import pytest

import _paths  # noqa: F401
from procs import turnctl_binary
from redis_proc import REDIS_SERVER, RedisServer

REALM = "turnd.test"


@dataclasses.dataclass
class Run:
    args: List[str]
    rc: int
    out: str
    err: str

    def __str__(self) -> str:
        return f"$ turnctl {' '.join(self.args)}\nexit {self.rc}\nstdout:\n{self.out}\nstderr:\n{self.err}"


def turnctl(*args: str, config: Optional[str] = None, timeout: float = 30,
            cwd: Optional[str] = None) -> Run:
    """Runs turnctl (in cwd, default this process's); fails the test if it crashed (signal,
    abort, sanitizer report)."""
    b = turnctl_binary()
    if not os.access(b, os.X_OK):
        pytest.skip(f"turnctl not built ({b}); set TURNCTL_BIN")
    argv = list(args) + (["--config", config] if config else [])
    p = subprocess.run([b] + argv, capture_output=True, text=True, timeout=timeout,
                       stdin=subprocess.DEVNULL, cwd=cwd)
    r = Run(argv, p.returncode, p.stdout, p.stderr)
    assert r.rc >= 0, f"turnctl was killed by a signal\n{r}"
    for marker in ("terminate called", "AddressSanitizer", "runtime error:", "Segmentation"):
        assert marker not in r.err, f"turnctl crashed\n{r}"
    return r


def ok(*args: str, **kw) -> Run:
    r = turnctl(*args, **kw)
    assert r.rc == 0, str(r)
    return r


def fails(rc: int, *args: str, **kw) -> Run:
    r = turnctl(*args, **kw)
    assert r.rc == rc, str(r)
    assert r.err.startswith("turnctl: ") or r.rc == 2, str(r)
    return r


@pytest.fixture(scope="module")
def redis_server():
    if not os.access(REDIS_SERVER, os.X_OK):
        pytest.skip(f"redis-server not installed ({REDIS_SERVER})")
    s = RedisServer().start()
    yield s
    s.cleanup()


@pytest.fixture
def redis(redis_server):
    """The module's redis-server, emptied before each test."""
    if redis_server.proc is None or redis_server.proc.poll() is not None:
        redis_server.start()
    redis_server.call("FLUSHALL")
    return redis_server


@pytest.fixture
def make_config(tmp_path):
    """make_config(redis=URL, secrets=[...], listen=[...], extra=YAML) -> path of a turnd.yaml."""
    counter = [0]

    def make(redis: Optional[str] = None, secrets: Sequence[str] = (), realm: str = REALM,
             listen: Sequence[str] = ("127.0.0.1:3478",), extra: str = "") -> str:
        counter[0] += 1
        path = tmp_path / f"turnd{counter[0]}.yaml"
        lines = [f"realm: {realm}", "listen: [" + ", ".join(f'"{l}"' for l in listen) + "]",
                 "auth:", "  secrets: [" + ", ".join(f'"{s}"' for s in secrets) + "]",
                 f"  redis: {redis if redis else 'null'}"]
        path.write_text("\n".join(lines) + "\n" + extra)
        return str(path)

    return make
