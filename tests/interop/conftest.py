"""pytest fixtures for the interop tests: a TURN server per test (turnd or
coturn, chosen by SERVER=turnd|coturn) whose log is attached to any failure."""

import os
import sys

import pytest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from servers import TurnServer  # noqa: E402


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    rep = outcome.get_result()
    if rep.failed:
        srv = item.funcargs.get("turn_server") if hasattr(item, "funcargs") else None
        if srv is not None:
            rep.sections.append(("%s server log (%s)" % (srv.kind, srv.log_path), srv.log_tail(400)))


@pytest.fixture
def turn_server():
    srv = TurnServer()
    srv.start()
    print("%s on %s:%d, relay ports %d-%d, log %s" % (
        srv.kind, srv.host, srv.port, srv.relay_lo, srv.relay_hi, srv.log_path))
    try:
        yield srv
    finally:
        # Raises ServerFailure (an error in teardown) if the server crashed,
        # exited early or would not stop.
        srv.stop()
