"""The servers and clients of the NAT tests, run inside a netns.NatLab.

rfc5780_server(lab, kind)  turnd (--listen 203.0.113.10:3478 --alternate-listen
                           203.0.113.11:3479) or coturn (two listening IPs, RFC 5780 on) in the
                           lab's server namespace; the one launcher of tests/lib/procs.py, so the
                           log is kept and a crash fails the test
natdiscovery(lab)          coturn's turnutils_natdiscovery -m -f -H from the client namespace
turnctl_nat_type(lab)      turnctl nat-type --json from the client namespace
Both clients return a Verdict in the same words (netns.EIM/ADM/APDM, hairpin True/False).
"""

from __future__ import annotations

import dataclasses
import json
import os
import re
from typing import List, Optional

import netns
import procs

NATDISCOVERY = os.environ.get("NATDISCOVERY_BIN", "/usr/bin/turnutils_natdiscovery")
PRIMARY = (netns.SERVER_IPS[0], 3478)
ALTERNATE = (netns.SERVER_IPS[1], 3479)
TURNCTL_TIMEOUT = "3"  # seconds per answer, the default: no loss in the lab, but CI may be busy


@dataclasses.dataclass
class Verdict:
    mapping: Optional[str]
    filtering: Optional[str]
    hairpin: Optional[bool]
    output: str  # what the client printed, for failure messages

    def triple(self):
        return (self.mapping, self.filtering, self.hairpin)


# --- servers --------------------------------------------------------------------------------

class CoturnRfc5780(procs.CoturnProcess):
    """coturn with RFC 5780 on: two listening IPs, the alternate port its default (port + 1)."""

    def command(self) -> List[str]:
        return [a for a in super().command() if a != "--no-rfc5780"]


def rfc5780_server(lab: netns.NatLab, kind: str, alternate: bool = True) -> procs.ServerProcess:
    """The server (not started yet; use it as a context manager)."""
    secrets = ["nat-" + os.urandom(6).hex()]
    if kind == "turnd":
        config = procs.ServerConfig(
            listen=[PRIMARY], relay_ips=(PRIMARY[0],), secrets=secrets, allow_peers=(),
            relay_window=20, realm="nat.test",
            extra_args=["--alternate-listen", "%s:%d" % ALTERNATE] if alternate else [])
        return netns.server_in_namespace(procs.TurndProcess, lab)(config)
    listen = [PRIMARY, (ALTERNATE[0], PRIMARY[1])] if alternate else [PRIMARY]
    config = procs.ServerConfig(listen=listen, relay_ips=(PRIMARY[0],), secrets=secrets,
                                allow_peers=(), relay_window=20, realm="nat.test")
    base = CoturnRfc5780 if alternate else procs.CoturnProcess
    return netns.server_in_namespace(base, lab)(config)


def turnd_has_rfc5780() -> bool:
    return procs.TurndProcess.supports("--alternate-listen")


# --- clients --------------------------------------------------------------------------------

_ND_WORDS = {"Endpoint Independent": netns.EIM, "Address Dependent": netns.ADM,
             "Address and Port Dependent": netns.APDM}
_ND_RE = re.compile(r"NAT with (Endpoint Independent|Address Dependent|Address and Port "
                    r"Dependent) (Mapping|Filtering)!")


def parse_natdiscovery(out: str) -> Verdict:
    """turnutils_natdiscovery (coturn 4.6) prints "NAT with <behaviour> Mapping!" and
    "... Filtering!" verdicts; its hairpinning test prints "Received a request (maybe a
    successful hairpinning)" when the request came back, else only receive timeouts."""
    found = {kind: _ND_WORDS[words] for words, kind in _ND_RE.findall(out)}
    hairpin = None
    if "Hairpinning Behavior Discovery" in out:
        hairpin = "successful hairpinning" in out
    return Verdict(found.get("Mapping"), found.get("Filtering"), hairpin, out)


def natdiscovery(lab: netns.NatLab) -> Verdict:
    argv = [NATDISCOVERY, "-m", "-f", "-H", "-p", str(PRIMARY[1]), PRIMARY[0]]
    r = lab.run_in(lab.client, argv, timeout=120)
    out = "$ %s (exit %d)\n%s%s" % (" ".join(argv), r.returncode, r.stdout, r.stderr)
    assert r.returncode == 0, "turnutils_natdiscovery failed:\n" + out
    return parse_natdiscovery(out)


_TURNCTL_WORDS = {"endpoint-independent": netns.EIM, "address-dependent": netns.ADM,
                  "address-and-port-dependent": netns.APDM}


def run_turnctl(lab: netns.NatLab, server: str, timeout: str = TURNCTL_TIMEOUT):
    argv = [procs.turnctl_binary(), "nat-type", "--server", server, "--json",
            "--timeout", timeout]
    r = lab.run_in(lab.client, argv, timeout=120)
    out = "$ %s (exit %d)\n%s%s" % (" ".join(argv), r.returncode, r.stdout, r.stderr)
    return r, out


def turnctl_nat_type(lab: netns.NatLab) -> Verdict:
    r, out = run_turnctl(lab, "%s:%d" % PRIMARY)
    assert r.returncode == 0, "turnctl nat-type failed:\n" + out
    j = json.loads(r.stdout)
    v = Verdict(_TURNCTL_WORDS.get(j["mapping"]), _TURNCTL_WORDS.get(j["filtering"]),
                j["hairpinning"], out)
    v.json = j
    return v
