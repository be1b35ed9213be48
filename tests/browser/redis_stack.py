#!/usr/bin/python3
"""Browser test of time-limited credentials kept in Redis and minted by turnctl.

    redis_stack.py [--timeout S] -- CMD ARGS...

1. starts a throwaway redis-server on a free loopback port (stopped by PID);
2. `turnctl --redis URL secret add` puts a REST secret into Redis;
3. starts turnd (tests/lib/procs.py, the tests' one launcher: free listen port,
   relay window, --allow-peer 127.0.0.0/8) with --redis URL, no --auth-secret and
   a --config whose auth.secrets is empty, so the Redis secret is the only way in;
4. `turnctl --redis URL --realm R mint --user browser --ttl 10m --uri
   turn:127.0.0.1:PORT?transport=udp --format json` and writes that iceServers
   entry, unchanged, to a file;
5. runs CMD (node --test datachannel.test.mjs) with BROWSER_ICE_SERVER_FILE set
   to it, BROWSER_REJECT_SECRETS (negative controls: "wrong" and the built-in
   public secret) and TURN_HOST / TURN_PORT / TURN_REALM / TURN_RELAY_PORTS;
6. stops turnd and redis-server by PID; fails if CMD failed or turnd crashed.

Environment: TURND_BIN, TURNCTL_BIN (default <repo>/build/tools/turnctl),
REDIS_SERVER (default: from PATH), TURN_TEST_LOGDIR.  Exits 77 (skip) when
redis-server is not installed.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import os
import shlex
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
TESTS = os.path.dirname(HERE)
sys.path.insert(0, os.path.join(TESTS, "lib"))
sys.path.insert(0, os.path.join(TESTS, "redis"))

import procs  # noqa: E402  (tests/lib/procs.py)
from run_with_server import parse_launcher_args, run_command, server_env, stop_server  # noqa: E402

SKIP = 77
REALM = "browser.redis.test"
BUILTIN_SECRET = "turnd-default-secret-change-me"  # the public secret old versions shipped
MINT_USER = "browser"
MINT_TTL = 600  # --ttl 10m


def redis_turnd(redis_url: str) -> procs.TurndProcess:
    """turnd with --redis and a config without REST secrets (no --auth-secret), 2 threads."""
    config = procs.ServerConfig(
        listen=[("127.0.0.1", procs.free_port())], realm=REALM, threads=2, relay_window=100,
        config_yaml="# browser.datachannel.redis: no REST secret but the ones in Redis\n"
                    "auth:\n  secrets: []\n",
        extra_args=["--redis", redis_url])
    return procs.TurndProcess(config)


def turnctl(*args: str) -> str:
    cmd = [procs.turnctl_binary()] + list(args)
    p = subprocess.run(cmd, capture_output=True, text=True, timeout=30, stdin=subprocess.DEVNULL)
    shown = " ".join(shlex.quote(c) for c in cmd)
    print("$ %s\n  exit %d%s" % (shown, p.returncode,
                                 ("; stderr: " + p.stderr.strip()) if p.stderr.strip() else ""), flush=True)
    if p.returncode != 0:
        raise RuntimeError("turnctl failed (%s):\n%s\nstdout:\n%s\nstderr:\n%s" % (
            "killed by signal %d" % -p.returncode if p.returncode < 0 else "exit %d" % p.returncode,
            shown, p.stdout, p.stderr))
    return p.stdout


def check_entry(entry: dict, want_uri: str, redis_secret: str) -> None:
    """The minted entry is what the issue promises before a browser sees it."""
    problems = []
    if set(entry) != {"urls", "username", "credential"}:
        problems.append("keys %s, expected urls, username, credential" % sorted(entry))
    if entry.get("urls") != [want_uri]:
        problems.append("urls %r, expected [%r]" % (entry.get("urls"), want_uri))
    username = str(entry.get("username", ""))
    expiry, _, user = username.partition(":")
    if user != MINT_USER or not expiry.isdigit():
        problems.append("username %r is not <expiry>:%s" % (username, MINT_USER))
    elif abs(int(expiry) - (time.time() + MINT_TTL)) > 30:
        problems.append("username expiry %s is not now + %ds" % (expiry, MINT_TTL))
    want = base64.b64encode(hmac.new(redis_secret.encode(), username.encode(), hashlib.sha1).digest()).decode()
    if entry.get("credential") != want:
        problems.append("credential is not base64(HMAC-SHA1(<the Redis secret>, username))")
    if problems:
        raise RuntimeError("turnctl mint printed an unexpected entry %s: %s" % (
            json.dumps(entry), "; ".join(problems)))


def main(argv: list[str]) -> int:
    args, command = parse_launcher_args(argv, __doc__, 150.0)

    from redis_proc import REDIS_SERVER, RedisServer  # tests/redis/redis_proc.py
    if not os.access(REDIS_SERVER, os.X_OK):
        print("SKIP: redis-server not installed (%s); set REDIS_SERVER" % REDIS_SERVER, flush=True)
        return SKIP
    if not os.access(procs.turnctl_binary(), os.X_OK):
        print("FAIL: turnctl not built (%s); set TURNCTL_BIN" % procs.turnctl_binary(), flush=True)
        return 1

    workdir = tempfile.mkdtemp(prefix="turnd-browser-redis-")
    redis = srv = None
    rc = 1
    try:
        # 1. redis-server on a free loopback port (procs.free_port, like turnd's ports).
        redis = RedisServer().start()
        print("redis-server pid %d on %s" % (redis.proc.pid, redis.url), flush=True)

        # 2. A REST secret in Redis.
        secret_id = turnctl("--redis", redis.url, "secret", "add").strip()
        secret_value = redis.call("HGET", "turnd:secret:%s" % secret_id, "value")
        if not isinstance(secret_value, str) or not secret_value:
            raise RuntimeError("turnctl secret add printed %r but Redis holds no turnd:secret:%s value (%r)"
                               % (secret_id, secret_id, secret_value))

        # 3. turnd: Redis only.
        srv = redis_turnd(redis.url).start()  # raises with the log on failure
        print("turnd ready on %s (relay ports %d-%d), log %s" % (
            procs.fmt_hostport(*srv.address), *srv.relay_ports, srv.log_path), flush=True)

        # 4. Mint the browser's iceServers entry.
        uri = "turn:%s?transport=udp" % procs.fmt_hostport(*srv.address)
        out = turnctl("--redis", redis.url, "--realm", REALM, "mint", "--user", MINT_USER,
                      "--ttl", "10m", "--uri", uri, "--format", "json")
        try:
            entry = json.loads(out)
        except ValueError as e:
            raise RuntimeError("turnctl mint --format json printed no JSON (%s):\n%s" % (e, out))
        check_entry(entry, uri, secret_value)
        entry_path = os.path.join(workdir, "ice-server.json")
        with open(entry_path, "w") as f:
            f.write(out)

        # 5. The browser.
        env = dict(os.environ)
        env.pop("TURN_SECRET", None)  # server_env has none: turnd has no secret of its own
        env.update(server_env(srv))
        env.update({
            "BROWSER_ICE_SERVER_FILE": entry_path,
            "BROWSER_REJECT_SECRETS": json.dumps(["wrong", BUILTIN_SECRET]),
        })
        rc = run_command(command, env, args.timeout)
    except (RuntimeError, procs.ServerCrashed, OSError, subprocess.SubprocessError) as e:
        print("FAIL: %s" % e, flush=True)
        rc = rc or 1
    finally:
        # 6. Stop by PID.
        if srv is not None:
            rc = stop_server(srv, rc)
        if redis is not None:
            if rc != 0:
                print("----- redis-server log (tail) -----\n%s" % redis.log(), flush=True)
            redis.cleanup()
        for name in ("ice-server.json",):
            try:
                os.unlink(os.path.join(workdir, name))
            except OSError:
                pass
        os.rmdir(workdir)
    return rc


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
