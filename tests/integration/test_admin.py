"""The admin HTTP listener: /healthz, /readyz, Prometheus /metrics, and the TURN REST API
credential endpoint (draft-uberti-behave-turn-rest §2.1) with and without its API key.
turnd only: coturn has no such endpoint."""

import base64
import hashlib
import hmac
import json
import subprocess
import time
import urllib.error
import urllib.request

import pytest

import _paths  # noqa: F401
import procs
from conftest import SERVER_KIND, start_server, stop_server, turnctl_binary
from turnclient.client import TurnClient

pytestmark = pytest.mark.skipif(SERVER_KIND != "turnd", reason="turnd's admin listener")

SECRET = "admin-test-secret"
API_KEY = "k-0123456789abcdef"


def get(port, path, headers=None):
    req = urllib.request.Request(f"http://127.0.0.1:{port}{path}", headers=headers or {})
    try:
        with urllib.request.urlopen(req, timeout=5) as r:
            return r.status, r.headers.get("Content-Type", ""), r.read().decode()
    except urllib.error.HTTPError as e:
        return e.code, e.headers.get("Content-Type", ""), e.read().decode()


def metric(text, name):
    for line in text.splitlines():
        if line.startswith(name + " "):
            return float(line.split()[1])
    raise AssertionError(f"metric {name} missing from:\n{text}")


@pytest.fixture(scope="module")
def admin_server(threads):
    port = procs.free_port("tcp")
    yaml = f"admin:\n  listen: \"127.0.0.1:{port}\"\n  api_key: \"{API_KEY}\"\n  credential_ttl: 10m\n"
    s = start_server(procs.ServerConfig(threads=threads, secrets=[SECRET], config_yaml=yaml))
    s.admin_port = port
    yield s
    stop_server(s)


def test_health_and_readiness(admin_server):
    assert get(admin_server.admin_port, "/healthz")[0] == 200
    assert get(admin_server.admin_port, "/readyz")[0] == 200
    assert get(admin_server.admin_port, "/nope")[0] == 404


def test_metrics_count_what_happens(admin_server):
    status, ctype, before = get(admin_server.admin_port, "/metrics")
    assert status == 200 and ctype.startswith("text/plain")
    assert "turnd_build_info{version=" in before
    c = TurnClient(admin_server.address_for("v4"), "udp", username="1:nobody", password="x")
    c.allocate()  # 401 challenge, then a second 401 for the expired REST name
    c.close()
    _, _, after = get(admin_server.admin_port, "/metrics")
    assert metric(after, "turnd_requests_total") >= metric(before, "turnd_requests_total") + 2
    assert metric(after, "turnd_auth_failures_total") >= metric(before, "turnd_auth_failures_total") + 2


def test_credentials_need_the_api_key(admin_server):
    path = "/api/v1/turn-credentials?service=turn&username=alice"
    assert get(admin_server.admin_port, path)[0] == 401
    assert get(admin_server.admin_port, path + "&key=wrong")[0] == 401
    assert get(admin_server.admin_port, path, {"Authorization": "Bearer wrong"})[0] == 401
    assert get(admin_server.admin_port, "/api/v1/turn-credentials?key=" + API_KEY)[0] == 400


@pytest.mark.parametrize("how", ["header", "query"])
def test_minted_credentials_verify_and_allocate(admin_server, how):
    path = "/api/v1/turn-credentials?service=turn&username=alice"
    headers = {}
    if how == "header":
        headers["Authorization"] = "Bearer " + API_KEY
    else:
        path += "&key=" + API_KEY
    status, ctype, body = get(admin_server.admin_port, path, headers)
    assert status == 200 and ctype.startswith("application/json"), body
    cred = json.loads(body)
    expiry, user = cred["username"].split(":", 1)
    assert user == "alice"
    assert abs(int(expiry) - (time.time() + 600)) < 30
    assert cred["ttl"] == 600
    expected = base64.b64encode(hmac.new(SECRET.encode(), cred["username"].encode(),
                                         hashlib.sha1).digest()).decode()
    assert cred["password"] == expected
    assert any(u.startswith("turn:127.0.0.1:") and u.endswith("transport=udp") for u in cred["uris"])
    c = TurnClient(admin_server.address_for("v4"), "udp", username=cred["username"],
                   password=cred["password"])
    resp = c.allocate()
    assert resp is not None and resp.error_code is None, resp
    assert c.refresh(lifetime=0).error_code is None
    c.close()


def test_endpoint_is_off_without_a_key(server_factory, threads):
    port = procs.free_port("tcp")
    s = server_factory(procs.ServerConfig(threads=threads, secrets=[SECRET],
                                          config_yaml=f"admin:\n  listen: \"127.0.0.1:{port}\"\n"))
    assert get(port, "/api/v1/turn-credentials?service=turn&username=a&key=x")[0] == 404
    assert get(port, "/healthz")[0] == 200
    s.assert_alive()


@pytest.mark.parametrize("username", ["a%00b", "%00", "alice%0a1:x", "tab%09", "del%7f",
                                      "c1%c2%85", "bad%ff%fe", "x" * 257])
def test_credentials_refused_for_unsafe_usernames(admin_server, username):
    """Issue 9 defect 8: no credential is minted for a user name with a control character
    (NUL, LF, TAB, DEL, C1), that is not UTF-8, or that is too long; the answer is a 400 in
    JSON, and the endpoint keeps serving."""
    path = f"/api/v1/turn-credentials?service=turn&username={username}&key={API_KEY}"
    status, ctype, body = get(admin_server.admin_port, path)
    assert status == 400, body
    assert ctype.startswith("application/json")
    assert "password" not in json.loads(body)
    status, _, body = get(admin_server.admin_port,
                          f"/api/v1/turn-credentials?service=turn&username=al%C3%AFce&key={API_KEY}")
    assert status == 200 and json.loads(body)["username"].endswith(":al\u00efce"), body


@pytest.mark.parametrize("external_ips", [None, '["203.0.113.9/127.0.0.1"]'])
def test_endpoint_uris_are_turnctl_mints(server_factory, threads, tmp_path, external_ips):
    """One derivation of the turn: URIs (config/advertised_uris): for the same config the
    credential endpoint returns the URIs `turnctl mint` prints, and both follow the host rule
    (a matching relay.external_ips entry replaces its private listen address)."""
    port = procs.free_port("tcp")
    yaml = f"admin:\n  listen: \"127.0.0.1:{port}\"\n  api_key: \"{API_KEY}\"\n"
    if external_ips:
        yaml += f"relay:\n  external_ips: {external_ips}\n"
    s = server_factory(procs.ServerConfig(threads=threads, secrets=[SECRET], config_yaml=yaml))
    status, _, body = get(port, f"/api/v1/turn-credentials?service=turn&username=u&key={API_KEY}")
    assert status == 200, body
    served = json.loads(body)["uris"]

    # The same settings in one file for turnctl (turnd took its listen addresses as flags).
    listen = ", ".join(f'"{procs.fmt_hostport(ip, p)}"' for ip, p in s.config.listen)
    same = tmp_path / "same.yaml"
    same.write_text(f"realm: {s.config.realm}\nlisten: [{listen}]\n"
                    f"auth:\n  secrets: [\"{SECRET}\"]\n" + yaml)
    r = subprocess.run([turnctl_binary(), "--config", str(same), "mint", "--user", "u"],
                       capture_output=True, text=True, timeout=30)
    assert r.returncode == 0, r.stderr
    assert json.loads(r.stdout)["urls"] == served

    v4_host = "203.0.113.9" if external_ips else "127.0.0.1"
    expected = []
    for ip, p in s.config.listen:
        host = v4_host if ":" not in ip else f"[{ip}]"
        expected += [f"turn:{host}:{p}?transport=udp", f"turn:{host}:{p}?transport=tcp"]
    assert served == expected
