"""pytest fixtures for the interop tests: a TURN server per test, started by the one test launcher
(tests/lib/procs.py: turnd, or coturn with TURND_SERVER=coturn), whose log is attached to any
failure."""

import os
import sys

import pytest

LIB = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "lib")
if LIB not in sys.path:
    sys.path.insert(0, LIB)

import procs  # noqa: E402

HOST = "127.0.0.1"


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    rep = outcome.get_result()
    if rep.failed:
        srv = item.funcargs.get("turn_server") if hasattr(item, "funcargs") else None
        if srv is not None:
            rep.sections.append(("%s server log (%s)" % (srv.name, srv.log_path), srv.log_tail(400)))


@pytest.fixture
def turn_server():
    """A running server on 127.0.0.1 with one REST secret (config.secrets[0]), 2 threads and a
    100-port relay window. Stopping it raises (an error in teardown) if it crashed, exited early,
    would not stop or printed a sanitizer report."""
    config = procs.ServerConfig(listen=[(HOST, procs.free_port())], realm="interop.test", threads=2,
                                secrets=["s3cr3t-" + os.urandom(6).hex()], relay_window=100)
    srv = procs.make_server(config)
    srv.start()
    print("%s on %s, relay ports %d-%d, log %s" % (
        srv.name, procs.fmt_hostport(*srv.address), *srv.relay_ports, srv.log_path))
    try:
        yield srv
    finally:
        srv.stop(check=True)
