"""TURN REST API usernames beyond the basic form: extra colons in the user part, the
coturn-compatible separator option, and the clock-skew tolerance on the expiry."""

import base64
import hashlib
import hmac
import time

import pytest

import _paths  # noqa: F401
import procs
from conftest import SERVER_KIND, start_server, stop_server
from turnclient.client import TurnClient

pytestmark = [pytest.mark.turn,
              pytest.mark.skipif(SERVER_KIND != "turnd", reason="turnd configuration keys")]

SECRET = "rest-secret"


def password_for(username: str) -> str:
    return base64.b64encode(hmac.new(SECRET.encode(), username.encode(), hashlib.sha1).digest()).decode()


def allocate(server, username):
    with TurnClient(server.address_for("v4"), "udp", username=username,
                    password=password_for(username)) as c:
        resp = c.allocate()
        if resp is not None and resp.error_code is None:
            c.refresh(lifetime=0)
        return resp


def succeeded(resp):
    return resp is not None and resp.error_code is None


@pytest.fixture(scope="module")
def default_server(threads):
    s = start_server(procs.ServerConfig(threads=threads, secrets=[SECRET]))
    yield s
    stop_server(s)


def test_user_part_may_contain_colons(default_server):
    assert succeeded(allocate(default_server, f"{int(time.time()) + 600}:alice:my-app"))


def test_expiry_within_the_clock_skew_is_accepted(default_server):
    # default tolerance: 60 s
    assert succeeded(allocate(default_server, f"{int(time.time()) - 20}:alice"))
    resp = allocate(default_server, f"{int(time.time()) - 300}:alice")
    assert resp is not None and resp.error_code == 401, resp


def test_zero_skew_refuses_a_just_expired_name(server_factory, threads):
    s = server_factory(procs.ServerConfig(threads=threads, secrets=[SECRET],
                                          config_yaml="auth:\n  clock_skew: 0\n"))
    resp = allocate(s, f"{int(time.time()) - 20}:alice")
    assert resp is not None and resp.error_code == 401, resp
    assert succeeded(allocate(s, f"{int(time.time()) + 60}:alice"))


def test_separator_option(server_factory, threads):
    s = server_factory(procs.ServerConfig(threads=threads, secrets=[SECRET],
                                          config_yaml="auth:\n  rest_separator: \"-\"\n"))
    expiry = int(time.time()) + 600
    assert succeeded(allocate(s, f"{expiry}-alice"))
    resp = allocate(s, f"{expiry}:alice")
    assert resp is not None and resp.error_code == 401, resp
