"""Fixtures of the TLS/DTLS tests: those of tests/integration/conftest.py (threads
parametrisation from TURND_THREADS, server_factory, crash checks after every test), loaded by
path and re-exported under the same names."""

import importlib.util
import os

import _paths  # noqa: F401

_spec = importlib.util.spec_from_file_location("integration_conftest", os.path.join(
    os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "integration", "conftest.py"))
_integration = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(_integration)

globals().update({name: getattr(_integration, name) for name in (
    "pytest_configure", "pytest_generate_tests", "pytest_runtest_makereport", "server_factory",
    "_servers_still_alive", "require_server_binary", "start_server", "stop_server", "_LIVE")})
