"""A NAT lab made of network namespaces, for tests that need real NATs (RFC 5780, RFC 6062).

Nothing is attached to the root namespace: every veth pair is created inside the lab's own
namespaces, so no packet can leave the machine. Only documentation address ranges are used.

    client ns                router ns                          server ns
    198.51.100.2 ── in ── 198.51.100.1 │ 203.0.113.1 ── out ── 203.0.113.10, .11, .12, .13
                                       │ 192.0.2.1 ── site2 ── site2 ns: 192.0.2.10

203.0.113.1 is the NAT's public address. The router's nftables rules make the NAT of the kind
asked for (NatKind); hairpinning can be switched on for the kinds with a static mapping.

    with NatLab("nat", NatKind.PORT_RESTRICTED) as lab:
        p = lab.popen_in(lab.server, [turnd, "--listen", "203.0.113.10:3478", ...])
        out = lab.run_in(lab.client, ["turnutils_natdiscovery", "-m", "-f", "203.0.113.10"])

Namespaces are named <prefix>-<pid>-<n>-<role> (parallel ctest runs never clash) and all of
them, with every process started through popen_in, are removed on exit, also on failure.

NAT kinds (RFC 4787 / RFC 5780 terms; NatKind.expected gives mapping and filtering):
  NONE             routed, no translation: the client's own address is its mapped address
  FULL_CONE        endpoint-independent mapping and filtering: snat to 203.0.113.1 keeping the
                   port, and a dnat of every port of 203.0.113.1 back to the client
  ADDRESS_RESTRICTED  the same plus a forward filter: a new inbound flow to a port is accepted
                   only from an address the client has sent to from that port (an nft set of
                   (protocol, port, address) filled on the outbound path)
  PORT_RESTRICTED  `masquerade persistent`: endpoint-independent mapping, filtering by address
                   and port (conntrack lets in only replies)
  SYMMETRIC        `masquerade random,fully-random`: a new public port per destination
                   (address-and-port-dependent mapping and filtering)
Hairpinning (a packet from the inside to the NAT's public address and mapped port coming back
in) is off unless hairpin=True, which only FULL_CONE and ADDRESS_RESTRICTED support (with NONE
the mapped address is the client's own, so "hairpinning" always works).

skip_reason() says why a lab cannot be made here (not root, no `ip netns`, no nft); tests skip
with it. probe_nat(lab) measures a lab's behaviour with plain UDP, independent of STUN.
"""

from __future__ import annotations

import enum
import itertools
import json
import os
import shutil
import signal
import subprocess
import sys
import textwrap
import time
from typing import Dict, List, Optional, Sequence, Tuple

IP = shutil.which("ip") or "/usr/sbin/ip"
NFT = shutil.which("nft") or "/usr/sbin/nft"

CLIENT_IP = "198.51.100.2"
ROUTER_INSIDE_IP = "198.51.100.1"
NAT_PUBLIC_IP = "203.0.113.1"
SERVER_IPS = ("203.0.113.10", "203.0.113.11", "203.0.113.12", "203.0.113.13")
SITE2_ROUTER_IP = "192.0.2.1"
SITE2_IP = "192.0.2.10"

EIM = "endpoint independent"
ADM = "address dependent"
APDM = "address and port dependent"


class NatKind(enum.Enum):
    NONE = "none"
    FULL_CONE = "full-cone"
    ADDRESS_RESTRICTED = "address-restricted"
    PORT_RESTRICTED = "port-restricted"
    SYMMETRIC = "symmetric"

    @property
    def expected(self) -> Tuple[str, str]:
        """(mapping, filtering) behaviour this kind makes."""
        return {
            NatKind.NONE: (EIM, EIM),
            NatKind.FULL_CONE: (EIM, EIM),
            NatKind.ADDRESS_RESTRICTED: (EIM, ADM),
            NatKind.PORT_RESTRICTED: (EIM, APDM),
            NatKind.SYMMETRIC: (APDM, APDM),
        }[self]

    @property
    def can_hairpin(self) -> bool:
        return self in (NatKind.FULL_CONE, NatKind.ADDRESS_RESTRICTED)


def skip_reason() -> Optional[str]:
    """Why no lab can be made here, or None."""
    if os.geteuid() != 0:
        return "network namespaces need root (CI runs as root)"
    if not os.access(IP, os.X_OK):
        return "`ip` (iproute2) is not installed"
    if not os.access(NFT, os.X_OK):
        return "`nft` (nftables) is not installed"
    name = "nsprobe-%d" % os.getpid()
    r = subprocess.run([IP, "netns", "add", name], capture_output=True, text=True)
    if r.returncode != 0:
        return "`ip netns add` failed: " + r.stderr.strip()
    try:
        r = subprocess.run([IP, "netns", "exec", name, NFT, "add", "table", "ip", "t"],
                           capture_output=True, text=True)
        if r.returncode != 0:
            return "nft does not work in a network namespace: " + r.stderr.strip()
        r = subprocess.run([IP, "netns", "exec", name, NFT, "add", "chain", "ip", "t", "c",
                            "{ type nat hook postrouting priority 100 ; }"],
                           capture_output=True, text=True)
        if r.returncode != 0:
            return "nftables NAT is not available (nf_nat): " + r.stderr.strip()
    finally:
        subprocess.run([IP, "netns", "delete", name], capture_output=True)
    return None


_serial = itertools.count()


class Netns:
    """Namespaces with unique names, removed (with the processes started in them) on exit."""

    def __init__(self, prefix: str = "lab"):
        self.base = "%s-%d-%d" % (prefix, os.getpid(), next(_serial))
        self.namespaces: List[str] = []
        self.procs: List[subprocess.Popen] = []

    def add(self, role: str) -> str:
        name = "%s-%s" % (self.base, role)
        _check([IP, "netns", "add", name])
        self.namespaces.append(name)
        _check([IP, "-n", name, "link", "set", "lo", "up"])
        return name

    def veth(self, ns_a: str, if_a: str, ns_b: str, if_b: str) -> None:
        """A veth pair created inside ns_a with its peer moved to ns_b: never in the root ns."""
        _check([IP, "-n", ns_a, "link", "add", if_a, "type", "veth", "peer", "name", if_b,
                "netns", ns_b])
        _check([IP, "-n", ns_a, "link", "set", if_a, "up"])
        _check([IP, "-n", ns_b, "link", "set", if_b, "up"])

    def addr(self, ns: str, ifname: str, cidr: str) -> None:
        # nodad: addresses are usable at once (matters for IPv6; harmless for IPv4)
        _check([IP, "-n", ns, "addr", "add", cidr, "dev", ifname] +
               (["nodad"] if ":" in cidr else []))

    def route(self, ns: str, dest: str, via: str) -> None:
        _check([IP, "-n", ns, "route", "add", dest, "via", via])

    def nft(self, ns: str, ruleset: str) -> None:
        _check(["ip", "netns", "exec", ns, NFT, "-f", "-"], stdin=ruleset)

    def run_in(self, ns: str, argv: Sequence[str], timeout: float = 30, check: bool = False,
               **kw) -> subprocess.CompletedProcess:
        """Runs argv in ns to completion; text output captured."""
        kw.setdefault("capture_output", True)
        kw.setdefault("text", True)
        r = subprocess.run([IP, "netns", "exec", ns] + list(argv), timeout=timeout, **kw)
        if check and r.returncode != 0:
            raise RuntimeError("in %s: %s: exit %d\n%s%s" % (ns, " ".join(argv), r.returncode,
                                                              r.stdout or "", r.stderr or ""))
        return r

    def popen_in(self, ns: str, argv: Sequence[str], **kw) -> subprocess.Popen:
        """Starts argv in ns; stopped by PID on exit if still running."""
        p = subprocess.Popen([IP, "netns", "exec", ns] + list(argv), **kw)
        self.procs.append(p)
        return p

    def close(self) -> None:
        for p in self.procs:
            stop_process(p)
        for ns in reversed(self.namespaces):
            subprocess.run([IP, "netns", "delete", ns], capture_output=True)
        self.namespaces.clear()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()
        return False


def stop_process(p: subprocess.Popen, timeout: float = 5) -> Optional[int]:
    """SIGTERM, then SIGKILL after timeout; by PID only. `ip netns exec` execs the program, so
    the PID is the program's own."""
    if p.poll() is None:
        p.send_signal(signal.SIGTERM)
        try:
            p.wait(timeout)
        except subprocess.TimeoutExpired:
            p.kill()
            p.wait(timeout)
    return p.returncode


def _check(argv: Sequence[str], stdin: Optional[str] = None) -> None:
    r = subprocess.run(list(argv), input=stdin, capture_output=True, text=True)
    if r.returncode != 0:
        raise RuntimeError("%s: exit %d: %s" % (" ".join(argv), r.returncode, r.stderr.strip()))


class NatLab(Netns):
    """client — router (NAT) — server, plus a second site behind the router (see module doc)."""

    def __init__(self, prefix: str, kind: NatKind, hairpin: bool = False,
                 server_ips: Sequence[str] = SERVER_IPS):
        super().__init__(prefix)
        if hairpin and not kind.can_hairpin:
            raise ValueError("hairpinning needs a static mapping (full-cone, address-restricted)")
        self.kind = kind
        self.hairpin = hairpin
        self.server_ips = tuple(server_ips)

    def __enter__(self):
        try:
            self._build()
        except BaseException:
            self.close()
            raise
        return self

    def _build(self) -> None:
        self.client = self.add("c")
        self.router = self.add("r")
        self.server = self.add("s")
        self.site2 = self.add("p")
        self.veth(self.router, "in", self.client, "eth0")
        self.veth(self.router, "out", self.server, "eth0")
        self.veth(self.router, "site2", self.site2, "eth0")
        self.addr(self.client, "eth0", CLIENT_IP + "/24")
        self.addr(self.router, "in", ROUTER_INSIDE_IP + "/24")
        self.addr(self.router, "out", NAT_PUBLIC_IP + "/24")
        self.addr(self.router, "site2", SITE2_ROUTER_IP + "/24")
        for ip in self.server_ips:
            self.addr(self.server, "eth0", ip + "/24")
        self.addr(self.site2, "eth0", SITE2_IP + "/24")
        self.route(self.client, "default", ROUTER_INSIDE_IP)
        self.route(self.server, "default", NAT_PUBLIC_IP)
        self.route(self.site2, "default", SITE2_ROUTER_IP)
        self.run_in(self.router, ["sysctl", "-qw", "net.ipv4.ip_forward=1"], check=True)
        # The router answers nothing itself: no ICMP redirects for hairpinned packets.
        self.run_in(self.router, ["sysctl", "-qw", "net.ipv4.conf.all.send_redirects=0"],
                    check=True)
        self.nft(self.router, nat_ruleset(self.kind, self.hairpin))

    def ruleset(self) -> str:
        return self.run_in(self.router, [NFT, "list", "ruleset"], check=True).stdout


def nat_ruleset(kind: NatKind, hairpin: bool) -> str:
    """The router's nftables rules for one NAT kind (interfaces: in, out, site2)."""
    public = '{ "out", "site2" }'
    # Packets from the inside back to the inside through the NAT's public address.
    hairpin_rule = ('iifname "in" oifname "in" snat to %s' % NAT_PUBLIC_IP) if hairpin else ""
    hairpin_filter = "" if hairpin else 'iifname "in" oifname "in" drop'
    if kind is NatKind.NONE:
        return "table ip lab { }\n"
    if kind in (NatKind.PORT_RESTRICTED, NatKind.SYMMETRIC):
        flags = "persistent" if kind is NatKind.PORT_RESTRICTED else "random,fully-random"
        return textwrap.dedent("""\
            table ip lab {
              chain postrouting {
                type nat hook postrouting priority srcnat;
                oifname %s ip saddr 198.51.100.0/24 masquerade %s
              }
              chain forward {
                type filter hook forward priority filter; policy accept;
                ct state established,related accept
                iifname %s ct state new drop
              }
              # Dropped before conntrack confirms it, an unsolicited packet to the public
              # address leaves no entry behind; one would hold that public port for the flow
              # and make the next outbound flow to its sender take another port.
              chain input {
                type filter hook input priority filter; policy accept;
                iifname %s ct state new drop
              }
            }
            """) % (public, flags, public, public)
    # Static 1:1 mapping of the client to the public address, ports kept.
    restrict = ""
    if kind is NatKind.ADDRESS_RESTRICTED:
        restrict = textwrap.dedent("""\
            iifname "in" oifname %s update @contacted { meta l4proto . th sport . ip daddr }
            iifname %s ct state new meta l4proto . th dport . ip saddr != @contacted drop
            """) % (public, public)
    return textwrap.dedent("""\
        table ip lab {
          # (protocol, client port, address it sent to): filtering per mapping, as a real NAT does
          set contacted { type inet_proto . inet_service . ipv4_addr; size 4096; flags dynamic; }
          chain prerouting {
            type nat hook prerouting priority dstnat;
            ip daddr %(pub)s dnat to %(client)s
          }
          chain postrouting {
            type nat hook postrouting priority srcnat;
            oifname %(public)s ip saddr %(client)s snat to %(pub)s
            %(hairpin_rule)s
          }
          chain forward {
            type filter hook forward priority filter; policy accept;
            %(hairpin_filter)s
            ct state established,related accept
        %(restrict)s  }
        }
        """) % {"pub": NAT_PUBLIC_IP, "client": CLIENT_IP, "public": public,
                "hairpin_rule": hairpin_rule, "hairpin_filter": hairpin_filter,
                "restrict": textwrap.indent(restrict, "    ")}


# ---------------------------------------------------------------------------------------------
# An empirical check of a lab with plain UDP (no STUN): what mapping, filtering and hairpinning
# does the router really do?

_ECHO = r"""
import json, select, socket, sys, time
socks = {}
for a in sys.argv[2:]:
    ip, port = a.rsplit(":", 1)
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.bind((ip, int(port)))
    socks[a] = s
print("ready", flush=True)
end = time.time() + float(sys.argv[1])
while time.time() < end:
    r, _, _ = select.select(list(socks.values()), [], [], 0.2)
    for s in r:
        data, src = s.recvfrom(2048)
        req = json.loads(data)
        out = socks.get(req.get("reply_from")) or s
        out.sendto(json.dumps({"seen": "%s:%d" % src, "id": req["id"]}).encode(), src)
"""

_PROBE = r"""
import json, socket, sys
primary, alt_port, alt_ip, alt_both, hair = sys.argv[1:6]
def addr(a):
    ip, port = a.rsplit(":", 1)
    return (ip, int(port))
def ask(s, to, reply_from=None, n=[0]):
    n[0] += 1
    msg = json.dumps({"id": n[0], "reply_from": reply_from}).encode()
    for _ in range(3):
        s.sendto(msg, addr(to))
        s.settimeout(0.3)
        try:
            while True:
                data, _ = s.recvfrom(2048)
                r = json.loads(data)
                if r["id"] == n[0]:
                    return r["seen"]
        except socket.timeout:
            pass
    return None
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.bind(("0.0.0.0", 0))
out = {"mapped": ask(s, primary)}
# filtering first, while the socket has only talked to primary
out["from_other_ip_port"] = ask(s, primary, alt_both) is not None
out["from_other_port"] = ask(s, primary, alt_port) is not None
out["via_other_ip"] = ask(s, alt_ip)
out["via_other_ip_port"] = ask(s, alt_both)
out["via_other_port"] = ask(s, alt_port)
# hairpin: a second socket sends to the first one's mapped address
b = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
b.bind(("0.0.0.0", 0))
s.settimeout(0.5)
got = False
for _ in range(3):
    b.sendto(b"hairpin", addr(out["mapped"]))
    try:
        while True:
            data, _ = s.recvfrom(2048)
            if data == b"hairpin":
                got = True
                break
    except socket.timeout:
        pass
    if got:
        break
out["hairpin"] = got
print(json.dumps(out))
"""


def probe_nat(lab: NatLab, ips: Tuple[str, str] = SERVER_IPS[:2],
              ports: Tuple[int, int] = (4000, 4001)) -> Dict[str, object]:
    """Mapping, filtering and hairpinning of the lab's NAT, measured with UDP echo sockets in the
    server namespace: {"mapping": EIM|ADM|APDM, "filtering": ..., "hairpin": bool, "raw": ...}."""
    ends = ["%s:%d" % (ip, port) for ip in ips for port in ports]
    echo = lab.popen_in(lab.server, [sys.executable, "-c", _ECHO, "20"] + ends,
                        stdout=subprocess.PIPE, text=True)
    try:
        if echo.stdout.readline().strip() != "ready":
            raise RuntimeError("UDP echo in the server namespace did not start")
        primary, alt_port, alt_ip, alt_both = ends[0], ends[1], ends[2], ends[3]
        r = lab.run_in(lab.client, [sys.executable, "-c", _PROBE, primary, alt_port, alt_ip,
                                    alt_both, "1"], check=True)
        raw = json.loads(r.stdout)
    finally:
        stop_process(echo)
    if raw["mapped"] is None:
        raise RuntimeError("the UDP probe got no answer through the lab: " + json.dumps(raw))
    m = raw["mapped"]
    if raw["via_other_ip"] == m and raw["via_other_ip_port"] == m:
        mapping = EIM
    elif raw["via_other_ip"] == raw["via_other_ip_port"]:
        mapping = ADM
    else:
        mapping = APDM
    if raw["from_other_ip_port"]:
        filtering = EIM
    elif raw["from_other_port"]:
        filtering = ADM
    else:
        filtering = APDM
    return {"mapping": mapping, "filtering": filtering, "hairpin": raw["hairpin"], "raw": raw}


if __name__ == "__main__":
    # python3 tests/lib/netns.py [KIND [hairpin]]: builds each lab and prints what it does.
    why = skip_reason()
    if why:
        print("cannot build a lab: " + why)
        sys.exit(77)
    kinds = [NatKind(sys.argv[1])] if len(sys.argv) > 1 else list(NatKind)
    bad = 0
    for kind in kinds:
        for hp in ([True, False] if kind.can_hairpin else [False]):
            if len(sys.argv) > 2 and hp != (sys.argv[2] == "hairpin"):
                continue
            t0 = time.monotonic()
            with NatLab("labprobe", kind, hairpin=hp) as lab:
                got = probe_nat(lab)
            ok = (got["mapping"], got["filtering"]) == kind.expected and \
                got["hairpin"] == (hp or kind is NatKind.NONE)
            bad += not ok
            print("%-20s hairpin=%-5s mapping=%-28s filtering=%-28s hairpin=%-5s %s (%.2fs)" % (
                kind.value, hp, got["mapping"], got["filtering"], got["hairpin"],
                "ok" if ok else "UNEXPECTED " + json.dumps(got["raw"]), time.monotonic() - t0))
    sys.exit(1 if bad else 0)


# --- servers in the lab ---------------------------------------------------------------------

_BINDING_PROBE = r"""
import os, socket, struct, sys
tid = os.urandom(12)
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.settimeout(float(sys.argv[3]))
try:
    s.sendto(struct.pack("!HHI", 1, 0, 0x2112A442) + tid, (sys.argv[1], int(sys.argv[2])))
    while True:
        data, _ = s.recvfrom(2048)
        if data[8:20] == tid:
            sys.exit(0)
except OSError:
    sys.exit(1)
"""


def server_in_namespace(base, lab: NatLab):
    """A procs server class whose process runs in the lab's server namespace and whose
    readiness probe (a Binding to each listen address) runs there too."""
    import procs  # tests/lib/procs.py; here so that the lab alone needs no server launcher

    class InNamespace(base):
        def command(self) -> List[str]:
            return [IP, "netns", "exec", lab.server] + super().command()

        def _binding_ok(self, addr, timeout):
            r = lab.run_in(lab.server, [sys.executable, "-c", _BINDING_PROBE, addr[0],
                                        str(addr[1]), str(timeout)], timeout=10)
            return r.returncode == 0

        def _tcp_ok(self, addr):
            return True  # UDP only here; both servers open TCP with UDP

        def stop(self, check=True, sig=None):
            # coturn 4.6 dies of SIGINT (status -2, which procs counts as a crash); it exits
            # cleanly on SIGTERM. turnd gets procs' usual SIGINT.
            if sig is None:
                sig = signal.SIGTERM if issubclass(base, procs.CoturnProcess) else signal.SIGINT
            super().stop(check=check, sig=sig)

    return InNamespace
