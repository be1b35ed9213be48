"""TLS and DTLS handshakes with turnd (issue 12) from real clients: openssl s_client and Python's
ssl module (TLS), s_client -dtls1_2 and pyOpenSSL (DTLS).

TLS 1.2 and 1.3 succeed and negotiate ALPN stun.turn or stun.nat-discovery when offered; a
client offering no ALPN or only other protocols is served without; TLS 1.0/1.1 and ciphers
outside Mozilla's intermediate list are refused and counted in
turnd_tls_handshake_failures_total; the certificate verifies for IP 127.0.0.1; SNI picks a
tls.certs chain; a session resumes; a TLS 1.3 KeyUpdate is handled and a TLS 1.2
renegotiation refused; a STUN Binding over TLS and DTLS reports the client's address in
XOR-MAPPED-ADDRESS, also when it comes one byte per record; a DTLS handshake goes through a
HelloVerifyRequest."""

import os
import ssl
import struct

import pytest

import _paths  # noqa: F401
import tlslib
from tlslib import ALPN_DISCOVERY, ALPN_TURN, HOST, s_client
from turnclient import Message, StunClient, codec, tls_client_context
from turnclient.secure import TlsTransport


@pytest.fixture
def server(server_factory, threads, tmp_path):
    pair = tlslib.make_pair(str(tmp_path), "server")
    return tlslib.start_tls_server(server_factory, threads, pair)


def verify_args(pair):
    return ["-CAfile", pair.cert, "-verify_ip", HOST, "-verify_return_error"]


@pytest.mark.parametrize("version", ["-tls1_2", "-tls1_3"])
@pytest.mark.parametrize("alpn", [ALPN_TURN, ALPN_DISCOVERY])
def test_s_client_negotiates_alpn(server, version, alpn):
    before = tlslib.handshakes(tlslib.scrape(server.admin), "tls")
    r = s_client(server.tls, version, "-alpn", alpn, *verify_args(server.pair))
    assert r.handshake_ok, "handshake failed" + r.describe()
    assert r.protocol == {"-tls1_2": "TLSv1.2", "-tls1_3": "TLSv1.3"}[version], r.describe()
    assert r.alpn == alpn, f"ALPN {r.alpn!r}, offered {alpn}" + r.describe()
    assert "Verify return code: 0 (ok)" in r.out, "certificate did not verify" + r.describe()
    assert tlslib.wait_for(lambda: tlslib.handshakes(tlslib.scrape(server.admin), "tls") >= before + 1, 3), \
        tlslib.scrape(server.admin)


@pytest.mark.parametrize("offer,expect", [(None, None), ("h2", None), ("http/1.1,h2", None),
                                          (f"h2,{ALPN_TURN}", ALPN_TURN)])
def test_s_client_without_turn_alpn_is_served(server, offer, expect):
    args = ["-alpn", offer] if offer else []
    r = s_client(server.tls, "-tls1_3", *args)
    assert r.handshake_ok, f"handshake with ALPN offer {offer!r} failed" + r.describe()
    if expect is None:
        assert r.no_alpn, f"ALPN {r.alpn!r} selected from {offer!r}" + r.describe()
    else:
        assert r.alpn == expect, r.describe()


@pytest.mark.parametrize("version,label", [("-tls1_1", "TLS 1.1"), ("-tls1", "TLS 1.0")])
def test_old_tls_versions_are_refused(server, version, label):
    m0 = tlslib.scrape(server.admin)
    tlslib.require_tls_metrics(m0)
    # SECLEVEL=0: without it openssl 3.0 would not even offer TLS 1.1 ciphers
    r = s_client(server.tls, version, "-cipher", "DEFAULT@SECLEVEL=0")
    assert not r.handshake_ok, f"{label} handshake succeeded" + r.describe()
    assert tlslib.wait_for(lambda: tlslib.failures(tlslib.scrape(server.admin), "tls", "protocol_version")
                           >= tlslib.failures(m0, "tls", "protocol_version") + 1, 3), \
        f"{label} refusal not counted as protocol_version: {tlslib.scrape(server.admin)}"


def test_tls11_python_client_is_refused(server):
    v = ssl.TLSVersion.TLSv1_1
    ctx = tls_client_context(min_version=v, max_version=v, ciphers="DEFAULT@SECLEVEL=0")
    with pytest.raises(OSError) as e:  # ssl.SSLError: an alert, or EOF
        TlsTransport(server.tls, context=ctx).close()
    print(f"TLS 1.1 client: {e.value!r}")


def test_cipher_outside_intermediate_list_is_refused(server):
    m0 = tlslib.scrape(server.admin)
    # CBC with SHA-1: TLS 1.2 capable, but not in Mozilla's intermediate configuration
    r = s_client(server.tls, "-tls1_2", "-cipher", "ECDHE-ECDSA-AES128-SHA")
    assert not r.handshake_ok, "ECDHE-ECDSA-AES128-SHA accepted" + r.describe()
    assert tlslib.wait_for(lambda: tlslib.failures(tlslib.scrape(server.admin), "tls", "no_shared_cipher")
                           >= tlslib.failures(m0, "tls", "no_shared_cipher") + 1, 3), \
        tlslib.scrape(server.admin)
    r = s_client(server.tls, "-tls1_2", "-cipher", "ECDHE-ECDSA-AES128-GCM-SHA256")
    assert r.handshake_ok and r.cipher == "ECDHE-ECDSA-AES128-GCM-SHA256", r.describe()


def binding_request() -> bytes:
    return struct.pack("!HHI", 0x0001, 0, codec.MAGIC_COOKIE) + os.urandom(12)


def response_in(stdout: bytes, req: bytes):
    """The STUN response to req found in s_client's stdout (None: not there)."""
    at = stdout.find(req[4:20])  # cookie + transaction id
    if at < 4 or len(stdout) < at + 16:
        return None
    start = at - 4
    length = struct.unpack("!H", stdout[start + 2:start + 4])[0]
    return Message.decode(stdout[start:start + 20 + length])


def test_binding_through_s_client(server):
    """A raw Binding request piped through s_client -quiet; the response on its stdout."""
    req = binding_request()
    r = tlslib.s_client_interactive(server.tls, ["-quiet", "-alpn", ALPN_TURN], [req])
    resp = response_in(r.stdout_bytes, req)
    assert resp is not None, "no Binding response through s_client" + r.describe()
    assert resp.is_success, resp.describe()
    mapped = resp.xor_mapped_address
    assert mapped is not None and mapped[0] == HOST and mapped[1] > 0, resp.describe()


@pytest.mark.parametrize("version,command,served", [
    ("-tls1_3", b"k\n", True),    # KeyUpdate: RFC 8446 §4.6.3, must be handled
    ("-tls1_3", b"K\n", True),    # KeyUpdate asking for one back
    ("-tls1_2", b"R\n", False),   # renegotiation: refused (no_renegotiation), off by design
])
def test_post_handshake_messages(server, version, command, served):
    req = binding_request()
    r = tlslib.s_client_interactive(server.tls, [version], [command, req])
    resp = response_in(r.stdout_bytes, req)
    if served:
        assert "KEYUPDATE" in r.out, r.describe()
        assert resp is not None and resp.is_success, "no Binding answer after a KeyUpdate" + r.describe()
    else:
        assert "RENEGOTIATING" in r.out and resp is None, "renegotiation went through" + r.describe()
    with StunClient(server.tls, "tls") as c:
        assert c.binding().is_success


@pytest.mark.parametrize("version", ["TLSv1_2", "TLSv1_3"])
def test_binding_over_tls_with_verification(server, version):
    v = getattr(ssl.TLSVersion, version)
    ctx = tls_client_context(cafile=server.pair.cert, alpn=[ALPN_TURN], min_version=v, max_version=v)
    with StunClient(server.tls, "tls", transport_options={"context": ctx}) as c:
        assert c.transport.version == version.replace("_", "."), c.transport.version
        assert c.transport.alpn == ALPN_TURN
        resp = c.binding()
        assert resp is not None and resp.is_success, resp
        assert resp.xor_mapped_address == c.local_address, \
            f"XOR-MAPPED-ADDRESS {resp.xor_mapped_address}, client is {c.local_address}"
        # several messages on one connection, one of them sent one byte per TLS record
        for _ in range(3):
            assert c.binding().is_success
        req = c.binding_request()
        wire = req.encode()
        for i in range(len(wire) - 1):
            c.send_raw(wire[i:i + 1])
        resp = c.transact_raw(req, wire[-1:])
        assert resp is not None and resp.is_success, "a message in one-byte records not answered"


@pytest.mark.parametrize("version", ["TLSv1_2", "TLSv1_3"])
def test_session_resumes(server, version):
    v = getattr(ssl.TLSVersion, version)
    ctx = tls_client_context(min_version=v, max_version=v)
    with StunClient(server.tls, "tls", transport_options={"context": ctx}) as first:
        assert first.binding().is_success  # TLS 1.3: the ticket comes after the handshake
        session = first.transport.session
    assert session is not None
    with StunClient(server.tls, "tls", transport_options={"context": ctx, "session": session}) as again:
        assert again.transport.session_reused, f"{version} session was not resumed (tickets off?)"
        assert again.binding().is_success


def test_sni_picks_the_matching_chain(server_factory, threads, tmp_path):
    default = tlslib.make_pair(str(tmp_path), "default")
    other = tlslib.make_pair(str(tmp_path), "other", hosts=["turn.example.test"])
    s = tlslib.start_tls_server(server_factory, threads, default, dtls=False,
                                extra=["--tls-sni-cert", f"{other.cert},{other.key}"])
    assert tlslib.served_fingerprint(s.tls, "turn.example.test") == other.fingerprint
    assert tlslib.served_fingerprint(s.tls) == default.fingerprint
    assert tlslib.served_fingerprint(s.tls, "unknown.example.test") == default.fingerprint
    r = s_client(s.tls, "-servername", "turn.example.test", "-CAfile", other.cert,
                 "-verify_hostname", "turn.example.test", "-verify_return_error")
    assert r.handshake_ok and "Verify return code: 0 (ok)" in r.out, r.describe()


def hello_verify_request_seen(r) -> bool:
    """In s_client -trace output (or, failing that, a -msg hex dump of a handshake type 3)."""
    return "HelloVerifyRequest" in r.out


def test_dtls_s_client_handshake(server):
    before = tlslib.handshakes(tlslib.scrape(server.admin), "dtls")
    r = s_client(server.dtls, "-trace", "-alpn", ALPN_TURN, *verify_args(server.pair), dtls=True)
    assert r.handshake_ok, "DTLS handshake failed" + r.describe()
    assert r.protocol == "DTLSv1.2", r.describe()
    assert hello_verify_request_seen(r), "no HelloVerifyRequest before the ServerHello" + r.describe()
    assert r.alpn == ALPN_TURN, r.describe()
    assert tlslib.wait_for(lambda: tlslib.handshakes(tlslib.scrape(server.admin), "dtls") >= before + 1, 3), \
        tlslib.scrape(server.admin)


def test_dtls_binding(server):
    with StunClient(server.dtls, "dtls", transport_options={"cafile": server.pair.cert,
                                                            "alpn": [ALPN_TURN]}) as c:
        t = c.transport
        assert t.hello_verify_requested, f"handshake messages received: {t.received_handshake_types}"
        assert t.version == "DTLSv1.2" and t.alpn == ALPN_TURN, (t.version, t.alpn)
        resp = c.binding()
        assert resp is not None and resp.is_success, resp
        assert resp.xor_mapped_address == c.local_address, \
            f"XOR-MAPPED-ADDRESS {resp.xor_mapped_address}, client is {c.local_address}"
