"""Shared fixtures of the integration tests.

Environment:
  TURND_BIN        turnd binary (default <repo>/build/server/turnd)
  TURNCTL_BIN      turnctl binary (default <repo>/build/tools/turnctl)
  TURND_SERVER     "turnd" (default) or "coturn" (develop the tests against coturn's turnserver)
  TURND_THREADS    comma list of --threads values to run every server test with (default "1,2")
  TURND_RUN_RFC_ONLY=1  with TURND_SERVER=coturn, also run the tests marked rfc_only/turnd_only
                   (they are expected to fail there; useful to see that they can fail)
  TURND_KEEP_LOGS=1  keep server log directories
Markers: turn (RFC 8656 tests), rfc_only(reason) (follows the RFC where coturn deviates),
turnd_only(reason) (turnd-specific flag or behaviour).
"""

import os

import pytest

import _paths  # noqa: F401
import procs

SERVER_KIND = procs.server_kind()
_LIVE = []  # servers started by fixtures and still running


def pytest_configure(config):
    config.addinivalue_line("markers", "turn: TURN (RFC 8656) relay tests")
    config.addinivalue_line("markers", "rfc_only(reason): follows the RFC where coturn 4.6.1 deviates; "
                                       "skipped with TURND_SERVER=coturn")
    config.addinivalue_line("markers", "turnd_only(reason): needs a turnd flag or behaviour coturn lacks; "
                                       "skipped with TURND_SERVER=coturn")


def pytest_collection_modifyitems(config, items):
    if SERVER_KIND != "coturn" or os.environ.get("TURND_RUN_RFC_ONLY") == "1":
        return
    for item in items:
        for name in ("rfc_only", "turnd_only"):
            m = item.get_closest_marker(name)
            if m is not None:
                reason = m.args[0] if m.args else name
                item.add_marker(pytest.mark.skip(reason=f"{name} (coturn): {reason}"))


def thread_values():
    raw = os.environ.get("TURND_THREADS", "1,2")
    return [int(x) for x in raw.split(",") if x.strip()]


def pytest_generate_tests(metafunc):
    if "threads" in metafunc.fixturenames:
        metafunc.parametrize("threads", thread_values(), scope="module", ids=lambda t: f"t{t}")


def require_server_binary():
    if SERVER_KIND == "coturn":
        if not os.path.exists("/usr/bin/turnserver"):
            pytest.skip("coturn (turnserver) not installed")
        return
    b = procs.turnd_binary()
    if not os.access(b, os.X_OK):
        if os.environ.get("TURND_BIN"):
            pytest.fail(f"TURND_BIN={b} is not an executable")
        pytest.skip(f"turnd binary not built yet ({b}); set TURND_BIN or TURND_SERVER=coturn")


def start_server(config: procs.ServerConfig) -> procs.ServerProcess:
    require_server_binary()
    s = procs.make_server(config)
    s.start()
    _LIVE.append(s)
    return s


def stop_server(s: procs.ServerProcess) -> None:
    if s in _LIVE:
        _LIVE.remove(s)
    s.stop(check=True)


def turnctl_binary() -> str:
    """The turnctl binary ($TURNCTL_BIN, default <repo>/build/tools/turnctl); skips when absent."""
    b = procs.turnctl_binary()
    if not os.access(b, os.X_OK):
        pytest.skip(f"turnctl not built ({b}); set TURNCTL_BIN")
    return b


@pytest.fixture
def server_factory():
    """start(config) -> a running server, stopped (and crash-checked) after the test."""
    started = []

    def start(config: procs.ServerConfig) -> procs.ServerProcess:
        s = start_server(config)
        started.append(s)
        return s

    yield start
    errors = []
    for s in started:
        try:
            stop_server(s)
        except AssertionError as e:
            errors.append(str(e))
    if errors:
        pytest.fail("\n".join(errors), pytrace=False)


@pytest.fixture(autouse=True)
def _servers_still_alive():
    """After every test, each server that is still meant to run must be running."""
    yield
    dead = [s for s in _LIVE if not s.alive()]
    if dead:
        msgs = []
        for s in dead:
            msgs.append(f"{s.name} died during this test: exit {procs.describe_status(s.proc.returncode)}\n"
                        + s.log_tail())
            _LIVE.remove(s)
        pytest.fail("\n".join(msgs), pytrace=False)


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    rep = outcome.get_result()
    if rep.failed and _LIVE:
        for s in _LIVE:
            rep.sections.append((f"{s.name} log (pid {s.proc.pid if s.proc else '-'})", s.log_tail(80)))
