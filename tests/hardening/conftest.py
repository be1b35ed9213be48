"""Fixtures of the hardening tests: the integration tests' conftest (threads parametrisation,
server_factory, crash checks after every test) loaded by path and re-exported here."""

import importlib.util
import os

import _paths  # noqa: F401

_spec = importlib.util.spec_from_file_location(
    "integration_conftest",
    os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "integration",
                 "conftest.py"))
_integration = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(_integration)

pytest_configure = _integration.pytest_configure
pytest_generate_tests = _integration.pytest_generate_tests
pytest_runtest_makereport = _integration.pytest_runtest_makereport
server_factory = _integration.server_factory
_servers_still_alive = _integration._servers_still_alive
require_server_binary = _integration.require_server_binary
start_server = _integration.start_server
stop_server = _integration.stop_server
