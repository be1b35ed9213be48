"""Small extensions to Debian's python3-aioice (0.8) for the interop tests.

aioice's STUN codec has no DATA attribute (0x0013) and its TURN client ignores
every indication, so Data indications from the server are dropped (aioice only
relies on ChannelData).  install() registers DATA in the codec and makes the
TURN client deliver Data indications to its receiver like ChannelData, and
counts what arrives so tests can tell which path the server used.
"""

import collections

from aioice import ice, stun, turn

COUNTS = collections.Counter()
_installed = False


def install() -> None:
    global _installed
    if _installed:
        return
    _installed = True

    if 0x0013 not in stun.ATTRIBUTES_BY_TYPE:
        entry = (0x0013, "DATA", stun.pack_bytes, stun.unpack_bytes)
        stun.ATTRIBUTES.append(entry)
        stun.ATTRIBUTES_BY_TYPE[0x0013] = entry
        stun.ATTRIBUTES_BY_NAME["DATA"] = entry

    original = turn.TurnClientMixin.datagram_received

    def datagram_received(self, data, addr):
        data = bytes(data)
        if len(data) >= 4 and turn.is_channel_data(data):
            COUNTS["channel-data"] += 1
            return original(self, data, addr)
        try:
            message = stun.parse_message(data)
        except ValueError:
            COUNTS["unparsable"] += 1
            return original(self, data, addr)
        if message.message_class == stun.Class.INDICATION:
            if message.message_method == stun.Method.DATA:
                COUNTS["data-indication"] += 1
                payload = message.attributes.get("DATA")
                peer = message.attributes.get("XOR-PEER-ADDRESS")
                if payload is None or peer is None:
                    COUNTS["data-indication-incomplete"] += 1
                    return
                if self.receiver:
                    self.receiver.datagram_received(payload, peer)
            else:
                COUNTS["other-indication"] += 1
            return
        if message.message_class == stun.Class.ERROR:
            COUNTS["error-response"] += 1
            COUNTS["error-%s-%s" % (message.message_method.name, message.attributes.get("ERROR-CODE", ("?",))[0])] += 1
        elif message.message_class == stun.Class.RESPONSE:
            COUNTS["success-response"] += 1
        return original(self, data, addr)

    turn.TurnClientMixin.datagram_received = datagram_received


def relay_only_host_addresses() -> None:
    """Make aioice ICE gather no host candidates at all (it otherwise binds a
    socket on every non-loopback interface address, even with a relay-only
    policy, and runs checks from them).  Keeps every packet on loopback."""
    ice.get_host_addresses = lambda use_ipv4=True, use_ipv6=True: []


def inner_protocol(turn_transport):
    """The TurnClient{Udp,Tcp}Protocol behind an aioice TurnTransport."""
    return turn_transport._TurnTransport__inner_protocol
