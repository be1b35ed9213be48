"""A bare turnd is not an open relay (issue 9, defect 4).

turnd with no credentials configured, listening on the wildcard addresses as the embedded
default does: credentials minted from the old public secret get 401; the iceServers entry it
logs works (Allocate succeeds with it); `turnctl mint` finds the secret generated for the run;
the old public secret given explicitly is a config error. Clients talk to 127.0.0.1 only.
"""

import json
import os
import re
import stat
import subprocess

import pytest

import _paths  # noqa: F401
import procs
from conftest import _LIVE, require_server_binary, stop_server, turnctl_binary
from turnclient import TurnClient, rest_credentials

pytestmark = [pytest.mark.turn, pytest.mark.turnd_only("turnd's default configuration")]

PUBLIC_SECRET = "turnd-default-secret-change-me"
ENTRY = re.compile(r"iceServers entry .*?: (\{.*\})$")


class WildcardTurnd(procs.TurndProcess):
    """turnd listening on 0.0.0.0:PORT and [::]:PORT (what the embedded default does, on a free
    port); the readiness probe and the clients use 127.0.0.1 and ::1."""

    def command(self):
        cmd = super().command()
        out, it = [], iter(cmd)
        for arg in it:
            if arg == "--listen":
                hostport = next(it)
                port = hostport.rsplit(":", 1)[1]
                wildcard = "[::]" if hostport.startswith("[") else "0.0.0.0"
                out += ["--listen", f"{wildcard}:{port}"]
            else:
                out.append(arg)
        return out


@pytest.fixture(params=["text", "json"])
def bare(request, threads, tmp_path):
    require_server_binary()
    cfg = procs.ServerConfig(threads=threads, extra_args=["--log-format", request.param])
    srv = WildcardTurnd(cfg, log_dir=str(tmp_path))
    srv.log_format = request.param
    srv.start()
    _LIVE.append(srv)
    yield srv
    if srv in _LIVE:
        stop_server(srv)


def logged_entry(srv) -> dict:
    for line in srv.log_text().splitlines()[1:]:
        msg = json.loads(line)["msg"] if srv.log_format == "json" else line
        m = ENTRY.search(msg)
        if m:
            return json.loads(m.group(1))
    pytest.fail("no iceServers entry in the log\n" + srv.log_tail())


def allocate(srv, username, password, transport="udp"):
    with TurnClient(srv.address, transport, username=username, password=password) as c:
        r = c.allocate()
        assert r is not None, "no answer"
        return r.error_code if r.is_error else 200


def test_public_secret_refused_logged_entry_works(bare):
    user, password = rest_credentials(PUBLIC_SECRET, "attacker")
    assert allocate(bare, user, password) == 401
    assert allocate(bare, user, password, "tcp") == 401

    entry = logged_entry(bare)
    port = bare.address[1]
    assert entry["urls"], entry
    for url in entry["urls"]:
        assert re.match(rf"^turn:(\d+\.\d+\.\d+\.\d+|\[[0-9a-f:]+\]):{port}\?transport=(udp|tcp)$",
                        url), url
        assert "0.0.0.0" not in url and "[::]" not in url
    assert allocate(bare, entry["username"], entry["credential"]) == 200
    assert allocate(bare, entry["username"], entry["credential"], "tcp") == 200

    secret_file = os.path.join(bare.dir, "run-secret")  # RUNTIME_DIRECTORY (tests/lib/procs.py)
    assert f"in {secret_file} for 'turnctl mint" in bare.log_text()
    st = os.stat(secret_file)
    assert stat.S_IMODE(st.st_mode) == 0o600
    with open(secret_file) as f:
        assert PUBLIC_SECRET not in f.read()

    # turnctl on the same host, with the same (credential-less) config, finds that secret.
    config = os.path.join(bare.dir, "bare.yaml")
    with open(config, "w") as f:
        f.write(f'listen: ["0.0.0.0:{port}"]\nrealm: {bare.config.realm}\n')
    env = dict(os.environ, RUNTIME_DIRECTORY=bare.dir)
    r = subprocess.run([turnctl_binary(), "--config", config, "mint", "--user", "newcomer",
                        "--host", "127.0.0.1"], capture_output=True, text=True, timeout=30, env=env)
    assert r.returncode == 0, r.stderr
    assert secret_file in r.stderr
    minted = json.loads(r.stdout)
    assert allocate(bare, minted["username"], minted["credential"]) == 200

    stop_server(bare)
    assert not os.path.exists(secret_file), "the run secret outlived the run"
    if bare.log_format == "json":
        for line in bare.log_text().splitlines()[1:]:
            json.loads(line)


@pytest.mark.parametrize("how", ["flag", "file"])
def test_public_secret_given_explicitly_is_a_config_error(how, tmp_path):
    require_server_binary()
    if how == "flag":
        args = ["--auth-secret", PUBLIC_SECRET]
        where = "--auth-secret"
    else:
        path = tmp_path / "turnd.yaml"
        path.write_text(f'realm: example.org\nauth:\n  secrets: ["mine", "{PUBLIC_SECRET}"]\n')
        args = ["--config", str(path)]
        where = f"{path}:3: auth.secrets[1]"
    for extra in ([], ["--check-config"]):
        r = subprocess.run([procs.turnd_binary()] + args + extra + ["--listen", "127.0.0.1:1"],
                           capture_output=True, text=True, timeout=30)
        assert r.returncode == 2, r
        assert r.stderr.startswith(f"turnd: {where}: this is the public secret"), r.stderr
        assert PUBLIC_SECRET not in r.stderr  # secrets are never printed, not even this one
