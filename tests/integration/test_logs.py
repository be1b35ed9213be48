"""Log lines under hostile client values (issue 9, defects 6 and 8).

A username is chosen by the client (REST: any bytes after "<expiry>:", signed by a backend that
mints for whatever name an app user picked). Usernames with `"`, line breaks, NUL, other control
bytes and invalid UTF-8 go through Allocate, Refresh and deletion over UDP and TCP, as REST and
as static users; then
  - text mode: every line turnd wrote starts with its own timestamp and level, the forged line
    appears only inside an escaped, quoted username, and the log is valid UTF-8 with no control
    byte;
  - json mode: EVERY line from start-up to shutdown parses with json.loads, with the same
    escaped username in its msg.
And a Refresh flood at the default level (info) adds no log line per refresh.
"""

import base64
import contextlib
import hashlib
import hmac
import json
import os
import re
import time

import pytest

import _paths  # noqa: F401
import procs
from conftest import _LIVE, require_server_binary, stop_server
from turnclient import ALG_SHA256, AttrType, TurnClient

pytestmark = [pytest.mark.turn, pytest.mark.turnd_only("turnd's log format")]

SECRET = "log-test-secret"
STATIC_PASSWORD = "pw"
# What an attacker would like to see as a line of its own.
FORGED = b'2030-01-01 00:00:00.000 info allocation 999 expired: user "root" FORGED'
REST_USER = b'evil"\n' + FORGED + b'\r\x00\x01\x1b[31m\x7f\xff\xfe\xc3\x28 \xe2\x80\xa8 end'
# The same set through a YAML double-quoted string (\0, \x01, \e are YAML escapes), raw
# invalid UTF-8 bytes included.
STATIC_YAML_NAME = b'st\\"\\n' + FORGED.replace(b'"', b'\\"') + b'\\r\\0\\x01\\e[2J\\x7f\xff\xc3\x28 end'
STATIC_USER = b'st"\n' + FORGED + b'\r\x00\x01\x1b[2J\x7f\xff\xc3\x28 end'
UNKNOWN_USER = b'nobody"\r\n' + FORGED + b'\x00'

TEXT_LINE = re.compile(rb"^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d{3} (trace|debug|info|warning|error|critical) ")


def log_escape(raw: bytes) -> str:
    """What turnd writes for a client value (server/log_text.hpp), for the assertions."""
    out, i = [], 0
    while i < len(raw):
        for n in (1, 2, 3, 4):
            try:
                ch = raw[i:i + n].decode("utf-8")
                break
            except UnicodeDecodeError:
                ch = None
        if ch is None or len(ch) != 1:
            out.append("\\x%02x" % raw[i])
            i += 1
            continue
        i += n
        cp = ord(ch)
        if ch in '"\\':
            out.append("\\" + ch)
        elif ch in "\n\r\t":
            out.append({"\n": "\\n", "\r": "\\r", "\t": "\\t"}[ch])
        elif cp < 0x20 or cp == 0x7F:
            out.append("\\x%02x" % cp)
        elif 0x80 <= cp <= 0x9F or cp in (0x2028, 0x2029, 0x200E, 0x200F, 0xFEFF) or \
                0x202A <= cp <= 0x202E or 0x2066 <= cp <= 0x2069:
            out.append("\\u%04x" % cp)
        else:
            out.append(ch)
    return "".join(out)


class RawUserClient(TurnClient):
    """A TurnClient whose USERNAME is raw bytes (NUL, invalid UTF-8), which the str API cannot
    carry; the long-term key is computed over the same bytes."""

    def __init__(self, server, transport, raw_username: bytes, password: str, **kw):
        super().__init__(server, transport, username="placeholder", password=password, **kw)
        self.raw_username = raw_username

    def key(self) -> bytes:
        alg, _ = self.chosen_algorithm()
        s = self.raw_username + b":" + (self.realm or "").encode() + b":" + self.password.encode()
        return hashlib.sha256(s).digest() if alg == ALG_SHA256 else hashlib.md5(s).digest()

    def add_auth(self, m) -> None:
        super().add_auth(m)
        for a in m.attrs:
            if a.type == AttrType.USERNAME:
                a.value = self.raw_username


def rest_raw(user: bytes, ttl: int = 3600):
    username = str(int(time.time()) + ttl).encode() + b":" + user
    password = base64.b64encode(hmac.new(SECRET.encode(), username, hashlib.sha1).digest()).decode()
    return username, password


@contextlib.contextmanager
def running(tmp_path, threads: int, log_format: str, log_level: str = "debug"):
    """turnd with a REST secret and the hostile static user (from a YAML file: it holds raw
    bytes that are not UTF-8). Stopped at the end unless the test stopped it to read the log."""
    require_server_binary()
    cfg = procs.ServerConfig(threads=threads, secrets=[SECRET], log_level=log_level,
                             extra_args=["--log-format", log_format])
    srv = procs.make_server(cfg, log_dir=str(tmp_path))  # kept after stop: read below
    path = os.path.join(srv.dir, "users.yaml")
    with open(path, "wb") as f:
        f.write(b"auth:\n  users:\n    - name: \"" + STATIC_YAML_NAME + b"\"\n      password: "
                + STATIC_PASSWORD.encode() + b"\n")
    srv.config.extra_args = list(srv.config.extra_args) + ["--config", path]
    srv.start()
    _LIVE.append(srv)
    try:
        yield srv
    finally:
        if srv in _LIVE:
            stop_server(srv)


def exercise(srv) -> None:
    """Allocate, Refresh and delete with each hostile username, UDP and TCP, REST and static."""
    rest_name, rest_pass = rest_raw(REST_USER)
    for transport in ("udp", "tcp"):
        for name, password in ((rest_name, rest_pass), (STATIC_USER, STATIC_PASSWORD)):
            with RawUserClient(srv.address, transport, name, password) as c:
                r = c.allocate()
                assert r is not None and r.is_success, (transport, name, r and r.error_code)
                r = c.refresh(lifetime=600)
                assert r is not None and r.is_success, (transport, name, r and r.error_code)
                r = c.refresh(lifetime=0)
                assert r is not None and r.is_success, (transport, name, r and r.error_code)
        # Unauthenticated: an unknown hostile name is refused and logged (debug) escaped.
        with RawUserClient(srv.address, transport, UNKNOWN_USER, "x") as c:
            r = c.allocate()
            assert r is not None and r.error_code == 401


def turnd_output(srv) -> bytes:
    """The log file minus the launcher's own first line ("$ command")."""
    with open(srv.log_path, "rb") as f:
        data = f.read()
    first, _, rest = data.partition(b"\n")
    assert first.startswith(b"$ "), first
    return rest


def expect_user_lines(messages, raw: bytes, what=("created", "refreshed", "deleted by the client")):
    needle = 'user "%s"' % log_escape(raw)
    for event in what:
        hits = [m for m in messages if event in m and needle in m]
        assert len(hits) == 2, (event, needle, hits)  # once over UDP, once over TCP


def test_text_log_cannot_be_forged(threads, tmp_path):
    with running(tmp_path, threads, "text") as srv:
        exercise(srv)
        stop_server(srv)
    out = turnd_output(srv)
    text = out.decode("utf-8")  # strict: escaped values are valid UTF-8
    lines = text.split("\n")
    assert lines[-1] == "", "the last line is not terminated"
    lines = lines[:-1]
    for line in lines:
        assert TEXT_LINE.match(line.encode()), f"line not written by turnd's formatter: {line!r}"
        assert not re.search(r"[\x00-\x1f\x7f\u0085\u2028\u2029]", line), repr(line)
    forged = [l for l in lines if "FORGED" in l]
    assert forged and all('user "' in l and '\\"root\\" FORGED' in l for l in forged), forged
    messages = [l.split(" ", 3)[3] for l in lines]
    rest_escaped = log_escape(REST_USER)
    for event in ("created", "refreshed", "deleted by the client"):
        assert sum(event in m and rest_escaped in m for m in messages) == 2, (event, rest_escaped)
    expect_user_lines(messages, STATIC_USER)
    assert any(log_escape(UNKNOWN_USER) in m and "401" in m for m in messages)
    assert "listening on" in lines[0] or any("listening on" in l for l in lines[:4])
    assert lines[-1].endswith("turnd stopped")


def test_json_log_every_line_parses(threads, tmp_path):
    with running(tmp_path, threads, "json") as srv:
        exercise(srv)
        stop_server(srv)
    out = turnd_output(srv).decode("utf-8")
    lines = out.split("\n")
    assert lines[-1] == ""
    records = []
    for n, line in enumerate(lines[:-1], start=2):
        try:
            rec = json.loads(line)
        except ValueError as e:
            pytest.fail(f"log line {n} is not JSON ({e}): {line!r}")
        assert set(rec) == {"time", "level", "msg"}, rec
        assert re.match(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z$", rec["time"]), rec
        records.append(rec)
    messages = [r["msg"] for r in records]
    assert any("listening on" in m for m in messages[:4]), messages[:4]
    assert messages[-1] == "turnd stopped"
    rest_escaped = log_escape(REST_USER)
    for event in ("created", "refreshed", "deleted by the client"):
        assert sum(event in m and rest_escaped in m for m in messages) == 2, (event, rest_escaped)
    expect_user_lines(messages, STATIC_USER)
    assert all("\n" not in m and "\x00" not in m for m in messages)


def test_refresh_flood_adds_no_line_at_the_default_level(threads, tmp_path):
    with running(tmp_path, threads, "text", log_level="info") as srv:
        name, password = rest_raw(b"flooder")
        with RawUserClient(srv.address, "udp", name, password) as c:
            r = c.allocate()
            assert r is not None and r.is_success
            time.sleep(0.3)  # the writer thread drains the queue
            before = len(turnd_output(srv))
            deadline = time.monotonic() + 20
            done = 0
            while done < 300 and time.monotonic() < deadline:
                r = c.refresh(lifetime=600)
                assert r is not None and r.is_success, r and r.error_code
                done += 1
            time.sleep(0.3)
            after = len(turnd_output(srv))
        assert done == 300
        assert after == before, turnd_output(srv)[before:].decode("utf-8", "replace")[:2000]
        stop_server(srv)
    # At debug level each refresh is a line: the flood above would have shown (see the tests
    # above, which run at debug and find the refresh lines).
    assert "refreshed" not in turnd_output(srv).decode()
