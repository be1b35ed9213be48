"""RFC 5780 NAT behaviour discovery through real NATs (issue 14).

For each NAT the lab makes (tests/lib/netns.py), a server with two addresses runs in the server
namespace (turnd --listen 203.0.113.10:3478 --alternate-listen 203.0.113.11:3479; coturn with two
listening IPs as a cross-check) and, each from a fresh lab so neither sees the NAT state the
other left, coturn's turnutils_natdiscovery and turnctl nat-type run in the client namespace.
Both must report the mapping, filtering and hairpinning the lab was built with, and so agree.
test_wrong_expectation_fails proves the check can fail: a symmetric NAT is not reported as the
port-restricted cone it is compared with.

Environment: TURND_BIN, TURNCTL_BIN (tests/lib/procs.py), NATDISCOVERY_BIN, TURN_TEST_LOGDIR.
"""

import os
import time

import pytest

import natlab_clients as nc
import netns
import procs

_why = netns.skip_reason()
pytestmark = pytest.mark.skipif(_why is not None, reason=str(_why))

# (kind, hairpin): every NAT kind, hairpinning on where the lab can make it
CASES = [
    (netns.NatKind.NONE, False),
    (netns.NatKind.FULL_CONE, False),
    (netns.NatKind.FULL_CONE, True),
    (netns.NatKind.ADDRESS_RESTRICTED, False),
    (netns.NatKind.ADDRESS_RESTRICTED, True),
    (netns.NatKind.PORT_RESTRICTED, False),
    (netns.NatKind.SYMMETRIC, False),
]


def case_id(case):
    kind, hairpin = case
    return kind.value + ("-hairpin" if hairpin else "")


def need(server):
    if not os.access(nc.NATDISCOVERY, os.X_OK):
        pytest.skip("turnutils_natdiscovery (Debian package coturn) is not installed")
    if not os.access(procs.turnctl_binary(), os.X_OK):
        pytest.skip("no turnctl at %s (set TURNCTL_BIN)" % procs.turnctl_binary())
    if server == "coturn" and not os.access("/usr/bin/turnserver", os.X_OK):
        pytest.skip("coturn's turnserver is not installed")


def expected(kind, hairpin):
    mapping, filtering = kind.expected
    # without a NAT the "mapped address" is the client's own: a packet to it always arrives
    return (mapping, filtering, hairpin or kind is netns.NatKind.NONE)


def check(kind, hairpin, verdicts):
    """Every client reported the lab's NAT, so they agree with each other."""
    want = expected(kind, hairpin)
    wrong = ["%s reported mapping=%s filtering=%s hairpin=%s, the lab makes %s\n%s" %
             (client, *v.triple(), want, v.output) for client, v in verdicts.items()
             if v.triple() != want]
    assert not wrong, "\n".join(wrong)
    t = verdicts.get("turnctl")
    if t is not None:
        j = t.json
        assert j["behind_nat"] == (kind is not netns.NatKind.NONE), t.output
        mapped_ip = netns.CLIENT_IP if kind is netns.NatKind.NONE else netns.NAT_PUBLIC_IP
        assert j["mapped"].startswith(mapped_ip + ":"), t.output
        assert j["other_address"] == "%s:%d" % nc.ALTERNATE, t.output


def observe(server, kind, hairpin, clients=("natdiscovery", "turnctl")):
    run = {"natdiscovery": nc.natdiscovery, "turnctl": nc.turnctl_nat_type}
    verdicts = {}
    for client in clients:
        t0 = time.monotonic()
        with netns.NatLab("nat", kind, hairpin=hairpin) as lab, \
                nc.rfc5780_server(lab, server):  # started by `with`
            verdicts[client] = run[client](lab)
        print("%s through %s: %s (%.1f s)" % (client, case_id((kind, hairpin)),
                                             verdicts[client].triple(), time.monotonic() - t0))
    return verdicts


@pytest.mark.parametrize("case", CASES, ids=case_id)
@pytest.mark.parametrize("server", ["turnd", "coturn"])
def test_nat_type(server, case):
    need(server)
    if server == "turnd":
        assert nc.turnd_has_rfc5780(), \
            "%s --help lists no --alternate-listen" % procs.turnd_binary()
    kind, hairpin = case
    check(kind, hairpin, observe(server, kind, hairpin))


def test_wrong_expectation_fails():
    """The check is not blind: a symmetric NAT compared with a port-restricted cone fails."""
    need("coturn")
    verdicts = observe("coturn", netns.NatKind.SYMMETRIC, False, clients=("turnctl",))
    with pytest.raises(AssertionError, match="mapping=address and port dependent"):
        check(netns.NatKind.PORT_RESTRICTED, False, verdicts)


def test_lab_probe():
    """The lab itself, measured with plain UDP echoes (no STUN): every kind as documented."""
    for kind, hairpin in CASES:
        with netns.NatLab("natprobe", kind, hairpin=hairpin) as lab:
            got = netns.probe_nat(lab)
        assert (got["mapping"], got["filtering"], got["hairpin"]) == expected(kind, hairpin), \
            (kind, hairpin, got)


@pytest.mark.parametrize("server", ["turnd", "coturn"])
def test_turnctl_exit_status(server):
    """3: nothing answers; 4: the server answers but has no RFC 5780 (no OTHER-ADDRESS)."""
    need(server)
    with netns.NatLab("natexit", netns.NatKind.PORT_RESTRICTED) as lab, \
            nc.rfc5780_server(lab, server, alternate=False):  # started by `with`
        r, out = nc.run_turnctl(lab, "%s:%d" % nc.PRIMARY)
        assert r.returncode == 4, out
        assert "does not support RFC 5780" in r.stderr and "alternate_listen" in r.stderr, out
        assert '"exit_status":4' in r.stdout, out
        r, out = nc.run_turnctl(lab, "%s:%d" % (netns.SERVER_IPS[2], 3478), timeout="1")
        assert r.returncode == 3, out
        assert "no answer from 203.0.113.12:3478" in r.stderr, out
