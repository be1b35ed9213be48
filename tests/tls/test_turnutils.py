"""coturn's turnutils_uclient over TLS (-t -S) and DTLS (-S) against turnd, relaying to
turnutils_peer (a UDP echo peer) with REST credentials it mints itself (-W secret): every
numbered message comes back, none lost, no ERROR lines; in channel and Send-indication modes,
and client-to-client (-y). The runner and the peer fixture are the interop tests' own
(tests/interop/test_uclient.py), pointed at the TLS or DTLS listener; the handshakes are counted
per transport in /metrics."""

import os
import sys

import pytest

import _paths  # noqa: F401
import tlslib

sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "interop"))
from test_uclient import MODES, UCLIENT, run_uclient, udp_peer  # noqa: E402,F401 (udp_peer: fixture)

pytestmark = pytest.mark.skipif(not os.access(UCLIENT, os.X_OK), reason="coturn's turnutils not installed")

TRANSPORTS = {"tls": ["-t", "-S"], "dtls": ["-S"]}


@pytest.fixture
def turn_server(server_factory, threads, tmp_path):
    """The server under the name the interop peer fixture wants (it keeps its log in s.dir)."""
    pair = tlslib.make_pair(str(tmp_path), "server")
    return tlslib.start_tls_server(server_factory, threads, pair)


def address_of(srv, kind):
    return srv.tls if kind == "tls" else srv.dtls


@pytest.mark.parametrize("mode", list(MODES))
@pytest.mark.parametrize("kind", list(TRANSPORTS))
def test_uclient_relays_to_peer(turn_server, udp_peer, kind, mode):
    before = tlslib.handshakes(tlslib.scrape(turn_server.admin), kind)
    run_uclient(turn_server, udp_peer, TRANSPORTS[kind] + MODES[mode], f"{kind}-{mode}",
                address=address_of(turn_server, kind))
    after = tlslib.handshakes(tlslib.scrape(turn_server.admin), kind)
    # -m 2 without -c: 2 clients with an RTP and an RTCP allocation each, one connection apiece
    assert after >= before + 2, f"{kind} handshakes {before} -> {after}"


@pytest.mark.parametrize("kind", list(TRANSPORTS))
def test_uclient_client_to_client(turn_server, udp_peer, kind):
    run_uclient(turn_server, udp_peer, TRANSPORTS[kind] + ["-y", "-m", "2"], f"{kind}-c2c",
                address=address_of(turn_server, kind))
