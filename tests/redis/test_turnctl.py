"""turnctl against a real redis-server: secrets, minted users, mint formats, and the errors an
operator meets (Redis down, wrong password, no secret, bad TTL, garbage in Redis); and, without
Redis, mint's URIs for TLS listeners and `cert self-signed` checked with openssl, Python's ssl
and NSS's certutil. Every run is checked for crashes by conftest.turnctl."""

import base64
import calendar
import hashlib
import hmac
import json
import os
import re
import shutil
import socket
import ssl
import stat
import subprocess
import threading
import time

import pytest

import _paths  # noqa: F401
import procs
from conftest import REALM, fails, ok, turnctl
from redis_proc import RedisServer, RespClient

ID_RE = re.compile(r"^\d{13}-[0-9a-f]{4}$")


def rest_password(secret: str, username: str) -> str:
    return base64.b64encode(hmac.new(secret.encode(), username.encode(), hashlib.sha1).digest()).decode()


def add_secret(cfg, value=None) -> str:
    r = ok("secret", "add", *(["--value", value] if value else []), config=cfg)
    sid = r.out.strip()
    assert ID_RE.match(sid), r
    return sid


def user_field(out: str, name: str) -> str:
    m = re.search(rf"^{name}:\s+(\S+)", out, re.M)
    assert m, out
    return m.group(1)


# --- secrets ---------------------------------------------------------------------------------

def test_version():
    assert ok("version").out.startswith("turnctl ")


def test_secret_add_list_retire(redis, make_config):
    cfg = make_config(redis=redis.url)
    first = add_secret(cfg)
    time.sleep(0.01)
    second = add_secret(cfg, "hunter2-value")
    assert redis.call("HGET", f"turnd:secret:{second}", "value") == "hunter2-value"
    assert len(redis.call("HGET", f"turnd:secret:{first}", "value")) == 44  # 32 bytes base64
    assert redis.call("ZRANGE", "turnd:secrets", "0", "-1") == [first, second]
    created = int(redis.call("HGET", f"turnd:secret:{second}", "created"))
    assert abs(created - time.time()) < 5
    assert int(float(redis.call("ZSCORE", "turnd:secrets", second))) == created

    listing = ok("secret", "list", config=cfg).out
    lines = [l for l in listing.splitlines() if ID_RE.match(l.split()[0])]
    assert [l.split()[0] for l in lines] == [second, first]
    assert "minting" in lines[0] and "minting" not in lines[1]
    assert "hunter2-value" not in listing
    assert "hunter2-value" in ok("secret", "list", "--show-values", config=cfg).out

    assert second in ok("secret", "retire", second, config=cfg).out
    assert redis.call("EXISTS", f"turnd:secret:{second}") == 0
    assert redis.call("ZRANGE", "turnd:secrets", "0", "-1") == [first]
    r = fails(1, "secret", "retire", second, config=cfg)
    assert f"no secret {second}" in r.err and "turnctl secret list" in r.err


def test_secret_add_rejects_empty_value(redis, make_config):
    fails(2, "secret", "add", "--value", "", config=make_config(redis=redis.url))


def test_events_are_published(redis, make_config):
    cfg = make_config(redis=redis.url)
    with RespClient(redis.port) as sub:
        sub.subscribe("turnd:events")
        sid = add_secret(cfg)
        assert sub.next_message(5) == f"secret-added {sid}"
        ok("user", "add", "alice", "--ttl", "1h", config=cfg)
        assert sub.next_message(5) == "user-added alice"
        ok("user", "revoke", "alice", config=cfg)
        assert sub.next_message(5) == "user-revoked alice"
        ok("secret", "retire", sid, config=cfg)
        assert sub.next_message(5) == f"secret-retired {sid}"


# --- minted users ----------------------------------------------------------------------------

def test_user_add_stores_keys_only(redis, make_config):
    cfg = make_config(redis=redis.url)
    r = ok("user", "add", "alice", "--ttl", "1h", config=cfg)
    password = user_field(r.out, "password")
    assert len(password) >= 20
    key = f"turnd:user:{REALM}:alice"
    h = redis.call("HGETALL", key)
    fields = dict(zip(h[::2], h[1::2]))
    assert set(fields) == {"md5", "sha256", "expires"}
    secret = f"alice:{REALM}:{password}".encode()
    assert fields["md5"] == hashlib.md5(secret).hexdigest()
    assert fields["sha256"] == hashlib.sha256(secret).hexdigest()
    assert abs(int(fields["expires"]) - (time.time() + 3600)) < 5
    assert 3590 <= redis.call("TTL", key) <= 3600
    assert password not in " ".join(h)


def test_user_add_with_password_replace_list_revoke(redis, make_config):
    cfg = make_config(redis=redis.url)
    ok("user", "add", "bob", "--ttl", "10m", "--password", "builder", config=cfg)
    md5 = redis.call("HGET", f"turnd:user:{REALM}:bob", "md5")
    assert md5 == hashlib.md5(f"bob:{REALM}:builder".encode()).hexdigest()
    r = ok("user", "add", "bob", "--ttl", "2h", "--password", "builder2", config=cfg)
    assert "replaced" in r.out
    ok("user", "add", "carol", "--ttl", "1d", config=cfg)
    listing = ok("user", "list", config=cfg).out
    assert re.search(r"^bob\s+expires .*\(in 2h\)", listing, re.M), listing
    assert re.search(r"^carol\s+expires", listing, re.M), listing
    ok("user", "revoke", "bob", config=cfg)
    assert "bob" not in ok("user", "list", config=cfg).out
    r = fails(1, "user", "revoke", "bob", config=cfg)
    assert "no user bob in realm turnd.test" in r.err


def test_users_are_per_realm(redis, make_config):
    ok("user", "add", "dave", "--ttl", "1h", config=make_config(redis=redis.url, realm="other.realm"))
    assert redis.call("EXISTS", "turnd:user:other.realm:dave") == 1
    assert "dave" not in ok("user", "list", config=make_config(redis=redis.url)).out
    assert "dave" in ok("user", "list", "--realm", "other.realm", config=make_config(redis=redis.url)).out


# --- mint ------------------------------------------------------------------------------------

def test_mint_json_from_the_newest_redis_secret(redis, make_config):
    cfg = make_config(redis=redis.url, secrets=["config-secret"])
    add_secret(cfg, "older")
    time.sleep(0.01)
    add_secret(cfg, "newest")
    r = ok("mint", "--user", "alice", "--ttl", "1h", config=cfg)
    entry = json.loads(r.out)
    assert set(entry) == {"urls", "username", "credential"}
    assert entry["urls"] == ["turn:127.0.0.1:3478?transport=udp", "turn:127.0.0.1:3478?transport=tcp"]
    expiry, user = entry["username"].split(":", 1)
    assert user == "alice" and abs(int(expiry) - (time.time() + 3600)) < 5
    assert entry["credential"] == rest_password("newest", entry["username"])


def test_mint_without_redis_uses_config_secret(make_config):
    cfg = make_config(secrets=["cfg-secret", "older"], listen=["[2001:db8::7]:3479"])
    entry = json.loads(ok("mint", "--user", "bob", "--ttl", "10m", config=cfg).out)
    assert entry["credential"] == rest_password("cfg-secret", entry["username"])
    assert entry["urls"][0] == "turn:[2001:db8::7]:3479?transport=udp"


def test_mint_external_ip_and_explicit_uris(make_config):
    cfg = make_config(secrets=["s"], listen=["0.0.0.0:3478"],
                      extra="relay:\n  external_ips: [\"203.0.113.5/10.0.0.5\"]\n")
    entry = json.loads(ok("mint", "--user", "u", config=cfg).out)
    assert entry["urls"] == ["turn:203.0.113.5:3478?transport=udp", "turn:203.0.113.5:3478?transport=tcp"]
    uris = ["turns:turn.example.com:5349?transport=tcp", "stun:turn.example.com:3478"]
    entry = json.loads(ok("mint", "--user", "u", "--uri", uris[0], "--uri", uris[1], config=cfg).out)
    assert entry["urls"] == uris
    entry = json.loads(ok("mint", "--user", "u", "--host", "turn.example.com", config=cfg).out)
    assert entry["urls"][1] == "turn:turn.example.com:3478?transport=tcp"


def test_mint_env_and_js_formats(make_config):
    cfg = make_config(secrets=["s3"])
    env = ok("mint", "--user", "o'neil", "--ttl", "90s", "--format", "env", config=cfg).out
    shell = subprocess.run(["sh", "-c", env + '\nprintf "%s\\n%s\\n%s\\n%s" "$TURN_USERNAME" '
                                             '"$TURN_PASSWORD" "$TURN_TTL" "$TURN_URIS"'],
                           capture_output=True, text=True, check=True).stdout.split("\n")
    username, password, ttl, uris = shell
    assert username.endswith(":o'neil") and password == rest_password("s3", username)
    assert ttl == "90" and uris.startswith("turn:127.0.0.1:3478?transport=udp ")
    js = ok("mint", "--user", "alice", "--format", "js", config=cfg).out.strip()
    assert js.startswith("const iceServers = [") and js.endswith("];")
    entry = json.loads(js[len("const iceServers = ["):-2])
    assert entry["credential"] == rest_password("s3", entry["username"])


def test_mint_finds_the_secret_turnd_generated_for_its_run(make_config, tmp_path, monkeypatch):
    """A config with no credentials at all is what turnd runs with a secret of its own: turnctl
    reads it from the run-secret file ($RUNTIME_DIRECTORY first) and says which file it used."""
    rundir = tmp_path / "run"
    rundir.mkdir(mode=0o700)
    monkeypatch.setenv("RUNTIME_DIRECTORY", str(rundir))
    cfg = make_config(secrets=[])
    r = fails(1, "mint", "--user", "u", config=cfg)
    assert "no credentials" in r.err and str(rundir / "run-secret") in r.err, r
    (rundir / "run-secret").write_text("generated-by-turnd\n")
    os.chmod(rundir / "run-secret", 0o600)
    r = ok("mint", "--user", "u", config=cfg)
    assert str(rundir / "run-secret") in r.err
    entry = json.loads(r.out)
    assert entry["credential"] == rest_password("generated-by-turnd", entry["username"])
    # A file others could have written is not trusted.
    os.chmod(rundir / "run-secret", 0o666)
    assert "private" in fails(1, "mint", "--user", "u", config=cfg).err
    # With a secret configured the run secret is not used.
    os.chmod(rundir / "run-secret", 0o600)
    entry = json.loads(ok("mint", "--user", "u", config=make_config(secrets=["s"])).out)
    assert entry["credential"] == rest_password("s", entry["username"])


def test_the_old_public_secret_is_refused(make_config):
    r = fails(1, "mint", "--user", "u", config=make_config(secrets=["turnd-default-secret-change-me"]))
    assert "auth.secrets[0]" in r.err and "public secret" in r.err, r


# turnctl does not open the TLS files: these only satisfy the config check of listen_tls.
TLS_FILES = "tls:\n  cert: /nonexistent/cert.pem\n  key: /nonexistent/key.pem\n"


def test_mint_advertises_turns_for_tls_listeners(make_config):
    """Each listen_tls address adds turns:HOST:PORT?transport=tcp after the turn: URIs;
    listen_dtls adds nothing (browsers take any turns: URI for TLS over TCP)."""
    cfg = make_config(secrets=["s"], extra='listen_tls: ["127.0.0.1:5349", "[::1]:443"]\n'
                                           'listen_dtls: ["127.0.0.1:5350"]\n' + TLS_FILES)
    entry = json.loads(ok("mint", "--user", "u", config=cfg).out)
    assert entry["urls"] == ["turn:127.0.0.1:3478?transport=udp", "turn:127.0.0.1:3478?transport=tcp",
                             "turns:127.0.0.1:5349?transport=tcp", "turns:[::1]:443?transport=tcp"]
    entry = json.loads(ok("mint", "--user", "u", "--host", "turn.example.org", config=cfg).out)
    assert entry["urls"][2:] == ["turns:turn.example.org:5349?transport=tcp",
                                 "turns:turn.example.org:443?transport=tcp"]
    env = ok("mint", "--user", "u", "--format", "env", config=cfg).out
    assert "turns:127.0.0.1:5349?transport=tcp" in env


def test_mint_fallback_host_covers_tls_listeners(make_config):
    """Wildcard listen and listen_tls addresses only: one fallback host for both, and the
    stderr line names the TLS address too. A specific TLS address ends the guessing."""
    cfg = make_config(secrets=["s"], listen=["0.0.0.0:3478"],
                      extra='listen_tls: ["0.0.0.0:443"]\n' + TLS_FILES)
    r = ok("mint", "--user", "u", config=cfg)
    m = re.search(r"listens on 0\.0\.0\.0:3478, 0\.0\.0\.0:443 \(TLS\) only: using (\S+) ", r.err)
    assert m, r.err
    host = f"[{m.group(1)}]" if ":" in m.group(1) else m.group(1)
    assert json.loads(r.out)["urls"] == [f"turn:{host}:3478?transport=udp", f"turn:{host}:3478?transport=tcp",
                                         f"turns:{host}:443?transport=tcp"]

    cfg = make_config(secrets=["s"], listen=["0.0.0.0:3478"],
                      extra='listen_tls: ["192.0.2.1:443"]\n' + TLS_FILES)
    r = ok("mint", "--user", "u", config=cfg)
    assert "listens on" not in r.err
    assert json.loads(r.out)["urls"][-1] == "turns:192.0.2.1:443?transport=tcp"


# --- errors an operator meets ----------------------------------------------------------------

def test_redis_down_is_a_clear_error(make_config):
    port = procs.free_port("tcp")  # nothing listens there
    cfg = make_config(redis=f"redis://127.0.0.1:{port}/0", secrets=["s"])
    for args in (["secret", "list"], ["user", "add", "x", "--ttl", "1h"], ["mint", "--user", "u"]):
        r = fails(1, *args, config=cfg)
        assert f"Redis unreachable at redis://127.0.0.1:{port}/0: Connection refused" in r.err, r
        assert "is redis-server running?" in r.err and cfg in r.err and "--redis URL" in r.err


def test_no_redis_configured(make_config):
    r = fails(1, "secret", "list", config=make_config(secrets=["s"]))
    assert "no Redis configured: set auth.redis in" in r.err and "--redis URL" in r.err


def test_no_active_secret(redis, make_config):
    r = fails(1, "mint", "--user", "u", config=make_config(redis=redis.url, secrets=[]))
    assert "no active secret: run 'turnctl secret add' or set auth.secrets" in r.err


@pytest.mark.parametrize("ttl", ["5x", "", "0", "-1h", "1y"])
def test_bad_ttl_is_a_usage_error(ttl, make_config):
    cfg = make_config(secrets=["s"])
    r = fails(2, "mint", "--user", "u", "--ttl", ttl, config=cfg)
    assert f'--ttl "{ttl}": expected a duration like 30s, 10m, 1h, 1d' in r.err
    r = fails(2, "user", "add", "u", "--ttl", ttl, "--redis", "redis://127.0.0.1:1/0", config=cfg)
    assert "--ttl" in r.err


@pytest.mark.parametrize("args", [[], ["nope"], ["secret"], ["mint"], ["mint", "--user", "u", "--format", "xml"],
                                  ["user", "add", "--ttl", "1h"], ["secret", "list", "--redis", "http://x"],
                                  ["user", "add", "bad name", "--ttl", "1h", "--redis", "redis://127.0.0.1:1"],
                                  ["mint", "--user", "u", "--uri", "http://x"]])
def test_usage_errors_exit_2(args, make_config):
    assert turnctl(*args, config=make_config(secrets=["s"])).rc == 2


def test_mint_falls_back_for_wildcard_listeners(make_config):
    """A config that listens on wildcard addresses only (the packaged one): mint uses the first
    relay.external_ips address, else this host's name or address, and says which on stderr;
    --host overrides without a word."""
    cfg = make_config(secrets=["s"], listen=["0.0.0.0:3478"])
    r = ok("mint", "--user", "u", config=cfg)
    m = re.search(r"listens on 0\.0\.0\.0:3478 only: using (\S+) \(this host's [^)]*\) in the URIs "
                  r"\(--host overrides\)", r.err)
    assert m, r.err
    host = m.group(1)
    uri_host = f"[{host}]" if ":" in host else host
    assert json.loads(r.out)["urls"] == [f"turn:{uri_host}:3478?transport=udp",
                                         f"turn:{uri_host}:3478?transport=tcp"]

    cfg = make_config(secrets=["s"], listen=["0.0.0.0:3478"],
                      extra="relay:\n  external_ips: [\"2001:db8::7\"]\n")
    r = ok("mint", "--user", "u", config=cfg)
    assert "using 2001:db8::7 (the first relay.external_ips address) in the URIs" in r.err
    assert json.loads(r.out)["urls"][0] == "turn:[2001:db8::7]:3478?transport=udp"

    r = ok("mint", "--user", "u", "--host", "turn.example.org", config=cfg)
    assert "listens on" not in r.err
    assert json.loads(r.out)["urls"][0] == "turn:turn.example.org:3478?transport=udp"


def test_check_config(make_config, tmp_path):
    good = make_config(secrets=["s"])
    assert ok("check-config", "--config", good).out.strip() == f"{good}: OK"
    bad = tmp_path / "bad.yaml"
    bad.write_text("realm: turnd.test\nrelay:\n  ports: \"9-1\"\n")
    r = fails(1, "check-config", "--config", str(bad))
    assert f"{bad}:3:" in r.err and "relay.ports" in r.err
    r = fails(1, "check-config", "--config", str(tmp_path / "missing.yaml"))
    assert "cannot read" in r.err


def test_password_protected_redis():
    s = RedisServer(extra_args=["--requirepass", "opensesame"]).start()
    try:
        r = fails(1, "secret", "list", "--redis", f"redis://127.0.0.1:{s.port}/0")
        assert "NOAUTH" in r.err and "redis://:PASSWORD@" in r.err
        r = fails(1, "secret", "list", "--redis", f"redis://:wrong@127.0.0.1:{s.port}/0")
        assert "WRONGPASS" in r.err and "wrong" not in r.err.replace("WRONGPASS", "")
        ok("secret", "add", "--redis", f"redis://:opensesame@127.0.0.1:{s.port}/2")
        with RespClient(s.port) as c:
            c.call("AUTH", "opensesame")
            c.call("SELECT", "2")
            assert c.call("ZCARD", "turnd:secrets") == 1
    finally:
        s.cleanup()


# --- garbage in Redis: a clear error, never a crash ------------------------------------------

def test_secrets_key_of_the_wrong_type(redis, make_config):
    cfg = make_config(redis=redis.url, secrets=["s"])
    redis.call("SET", "turnd:secrets", "oops")
    for args in (["secret", "list"], ["mint", "--user", "u"], ["secret", "add"], ["secret", "retire", "x"]):
        r = fails(1, *args, config=cfg)
        assert "WRONGTYPE" in r.err and "turnd:secrets must be a sorted set" in r.err, r


def test_broken_secret_records(redis, make_config):
    cfg = make_config(redis=redis.url)
    good = add_secret(cfg, "good")
    redis.call("ZADD", "turnd:secrets", str(int(time.time()) + 100), "ghost")   # no hash
    redis.call("ZADD", "turnd:secrets", "1", "bad id")                           # invalid id
    redis.call("ZADD", "turnd:secrets", "2", "listed")
    redis.call("SET", "turnd:secret:listed", "not a hash")                       # wrong type
    r = fails(1, "secret", "list", config=cfg)
    assert good in r.out
    assert "turnd:secret:ghost: no value" in r.err and "turnctl secret retire ghost" in r.err
    assert '"bad id"' in r.err and "WRONGTYPE" in r.err
    # mint still works with the newest usable secret, and says what it skipped
    r = ok("mint", "--user", "u", config=cfg)
    entry = json.loads(r.out)
    assert entry["credential"] == rest_password("good", entry["username"])
    assert "ghost" in r.err


def test_broken_user_records(redis, make_config):
    cfg = make_config(redis=redis.url)
    ok("user", "add", "alice", "--ttl", "1h", config=cfg)
    redis.call("HSET", f"turnd:user:{REALM}:bob", "md5", "zz" * 16, "sha256", "00" * 32, "expires", "9999999999")
    redis.call("HSET", f"turnd:user:{REALM}:carol", "md5", "00" * 16)
    redis.call("SET", f"turnd:user:{REALM}:dave", "string")
    redis.call("HSET", f"turnd:user:{REALM}:erin", "md5", "00" * 16, "sha256", "00" * 32, "expires", "soon")
    r = fails(1, "user", "list", config=cfg)
    assert re.search(r"^alice\s", r.out, re.M)
    assert f"turnd:user:{REALM}:bob: md5: expected 32 hex digits" in r.err
    assert f"turnd:user:{REALM}:carol: sha256: expected 64 hex digits" in r.err
    assert f"turnd:user:{REALM}:dave" in r.err and "WRONGTYPE" in r.err
    assert f"turnd:user:{REALM}:erin: expires: expected unix seconds" in r.err
    assert "turnctl user revoke bob" in r.err


class FakeServer:
    """Accepts connections on a free loopback port and answers every read with `reply`
    (or never answers when reply is None)."""

    def __init__(self, reply):
        self.reply = reply
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", procs.free_port("tcp")))
        self.sock.listen(8)
        self.port = self.sock.getsockname()[1]
        self.conns = []
        threading.Thread(target=self._serve, daemon=True).start()

    def _serve(self):
        while True:
            try:
                c, _ = self.sock.accept()
            except OSError:
                return
            self.conns.append(c)
            if self.reply is not None:
                try:
                    c.recv(65536)
                    c.sendall(self.reply)
                except OSError:
                    pass

    def close(self):
        self.sock.close()
        for c in self.conns:
            c.close()


@pytest.mark.parametrize("reply,expect", [
    (b"HTTP/1.1 400 Bad Request\r\n\r\n", "Protocol error"),
    (b"*1\r\n:5\r\n", "expected PONG"),
    (b"$5\r\nPONG!\r\n", "expected PONG"),
    (b"-ERR unknown command\r\n", "ERR unknown command"),
    (b"+PONG\r\n", None),          # PONG, then silence: the next command times out
    (None, "timed out"),
])
def test_a_server_that_is_not_redis(reply, expect):
    server = FakeServer(reply)
    try:
        t0 = time.monotonic()
        r = fails(1, "secret", "list", "--redis", f"redis://127.0.0.1:{server.port}/0")
        assert time.monotonic() - t0 < 15
        assert expect is None or expect in r.err, r
    finally:
        server.close()


# --- cert self-signed: a test certificate for the TLS listeners ------------------------------

def openssl(*args) -> subprocess.CompletedProcess:
    if not shutil.which("openssl"):
        pytest.skip("openssl not installed")
    return subprocess.run(["openssl", *map(str, args)], capture_output=True, text=True, timeout=30,
                          stdin=subprocess.DEVNULL)


def tls_handshake(cert, key, server_name: str) -> bytes:
    """One TLS connection over loopback: a Python ssl server with cert and key, a client that
    trusts cert only and checks server_name. Raises ssl.SSLCertVerificationError if it fails."""
    server_ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    server_ctx.load_cert_chain(str(cert), str(key))
    client_ctx = ssl.create_default_context(cafile=str(cert))
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen(1)
        listener.settimeout(10)

        def serve():
            try:
                conn, _ = listener.accept()
                conn.settimeout(10)
                with server_ctx.wrap_socket(conn, server_side=True) as s:
                    s.sendall(b"ok")
            except (OSError, ssl.SSLError):
                pass  # the client refused the certificate

        server = threading.Thread(target=serve, daemon=True)
        server.start()
        try:
            with socket.create_connection(listener.getsockname(), timeout=10) as raw:
                with client_ctx.wrap_socket(raw, server_hostname=server_name) as s:
                    return s.recv(2)
        finally:
            server.join(10)


def test_cert_self_signed_for_addresses_and_a_name(tmp_path):
    r = ok("cert", "self-signed", "--host", "127.0.0.1", "--host", "turn.test", "--host", "::1",
           "--out", str(tmp_path))
    cert, key = tmp_path / "cert.pem", tmp_path / "key.pem"
    assert f"--tls-cert {cert} --tls-key {key}" in r.out and "do not trust" in r.out, r
    assert sorted(os.listdir(tmp_path)) == ["cert.pem", "key.pem"]
    assert stat.S_IMODE(os.stat(key).st_mode) == 0o600

    text = openssl("x509", "-in", cert, "-noout", "-text").stdout
    for expected in ("DNS:turn.test", "IP Address:127.0.0.1", "IP Address:0:0:0:0:0:0:0:1",
                     "Subject: CN = 127.0.0.1", "Issuer: CN = 127.0.0.1", "CA:FALSE",
                     "TLS Web Server Authentication", "NIST CURVE: P-256", "ecdsa-with-SHA256"):
        assert expected in text, f"{expected} not in\n{text}"
    v = openssl("verify", "-CAfile", cert, cert)
    assert v.returncode == 0 and v.stdout.strip() == f"{cert}: OK", v
    v = openssl("verify", "-CAfile", cert, "-purpose", "sslserver", "-verify_ip", "127.0.0.1", cert)
    assert v.returncode == 0, v
    assert openssl("verify", "-CAfile", cert, "-verify_hostname", "other.test", cert).returncode != 0
    assert (openssl("pkey", "-in", key, "-pubout").stdout
            == openssl("x509", "-in", cert, "-noout", "-pubkey").stdout)

    end = openssl("x509", "-in", cert, "-noout", "-enddate").stdout.strip()  # notAfter=Mar  3 ...
    not_after = calendar.timegm(time.strptime(end.split("=", 1)[1], "%b %d %H:%M:%S %Y %Z"))
    assert abs(not_after - (time.time() + 90 * 86400)) < 120, end

    assert tls_handshake(cert, key, "127.0.0.1") == b"ok"
    assert tls_handshake(cert, key, "turn.test") == b"ok"
    with pytest.raises(ssl.SSLCertVerificationError):
        tls_handshake(cert, key, "other.test")


def test_cert_self_signed_rsa_days_and_default_directory(tmp_path):
    ok("cert", "self-signed", "--host", "turn.test", "--key-type", "rsa", "--days", "2",
       cwd=str(tmp_path))
    cert = tmp_path / "cert.pem"
    text = openssl("x509", "-in", cert, "-noout", "-text").stdout
    assert "Public-Key: (2048 bit)" in text and "sha256WithRSAEncryption" in text, text
    assert "Digital Signature, Key Encipherment" in text, text
    end = openssl("x509", "-in", cert, "-noout", "-enddate").stdout.strip()
    not_after = calendar.timegm(time.strptime(end.split("=", 1)[1], "%b %d %H:%M:%S %Y %Z"))
    assert abs(not_after - (time.time() + 2 * 86400)) < 120, end
    assert tls_handshake(cert, tmp_path / "key.pem", "turn.test") == b"ok"


def test_cert_self_signed_keeps_existing_files_unless_forced(tmp_path):
    ok("cert", "self-signed", "--host", "127.0.0.1", "--out", str(tmp_path))
    cert, key = tmp_path / "cert.pem", tmp_path / "key.pem"
    before = cert.read_bytes(), key.read_bytes()
    r = fails(1, "cert", "self-signed", "--host", "127.0.0.1", "--out", str(tmp_path))
    assert "will not overwrite" in r.err and "--force" in r.err and str(cert) in r.err, r
    assert (cert.read_bytes(), key.read_bytes()) == before

    os.chmod(key, 0o644)  # a key someone widened: --force writes a new 0600 file in its place
    ok("cert", "self-signed", "--host", "127.0.0.1", "--out", str(tmp_path), "--force")
    assert cert.read_bytes() != before[0] and key.read_bytes() != before[1]
    assert stat.S_IMODE(os.stat(key).st_mode) == 0o600
    assert sorted(os.listdir(tmp_path)) == ["cert.pem", "key.pem"]
    assert openssl("verify", "-CAfile", cert, cert).returncode == 0


@pytest.mark.parametrize("args, rc, message", [
    (["--host", "a_b.test"], 2, 'host "a_b.test": \'_\' is not allowed in a DNS name'),
    (["--host", "1.2.3"], 2, "not an IP address"),
    (["--host", "fe80::1%eth0"], 2, "not an IP address"),
    (["--host", "ok.test", "--days", "0"], 2, "not within 1-3650"),
    (["--host", "ok.test", "--days", "3651"], 2, "not within 1-3650"),
    (["--host", "ok.test", "--key-type", "dsa"], 2, "dsa"),
    ([], 2, "--host is required"),
])
def test_cert_self_signed_usage_errors(tmp_path, args, rc, message):
    r = fails(rc, "cert", "self-signed", *args, "--out", str(tmp_path))
    assert message in r.err, r
    assert os.listdir(tmp_path) == []


def test_cert_self_signed_directory_errors(tmp_path):
    missing = tmp_path / "missing"
    r = fails(1, "cert", "self-signed", "--host", "ok.test", "--out", str(missing))
    assert f"{missing}: no such directory" in r.err, r
    (tmp_path / "file").write_text("x")
    r = fails(1, "cert", "self-signed", "--host", "ok.test", "--out", str(tmp_path / "file"))
    assert "is not a directory" in r.err, r


def test_cert_self_signed_is_trusted_by_nss_as_a_peer(tmp_path):
    """What turnctl(1) tells Chromium users: certutil -A -t "P,," (a trusted peer). NSS takes
    the trusted-CA flags "C,," only for a CA, which this leaf is not."""
    if not shutil.which("certutil"):
        pytest.skip("certutil not installed (Debian libnss3-tools)")
    ok("cert", "self-signed", "--host", "127.0.0.1", "--out", str(tmp_path))
    db = tmp_path / "nssdb"
    db.mkdir()

    def certutil(*args):
        return subprocess.run(["certutil", "-d", f"sql:{db}", *map(str, args)], capture_output=True,
                              text=True, timeout=30, stdin=subprocess.DEVNULL)

    assert certutil("-N", "--empty-password").returncode == 0
    assert certutil("-A", "-t", "P,,", "-n", "turnd", "-i", tmp_path / "cert.pem").returncode == 0
    v = certutil("-V", "-n", "turnd", "-u", "V")
    assert v.returncode == 0 and "certificate is valid" in v.stdout, v
