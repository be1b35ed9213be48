"""Our own STUN/TURN client for the integration tests (Python standard library only).

    from turnclient import TurnClient, StunClient, codec, AttrType, rest_credentials
    TurnClient(server, "tls", transport_options={"alpn": ["stun.turn"]})   # or "dtls"
    RFC 6062: c.allocate(PROTO_TCP); cid = c.connect(peer).connection_id;
              data = c.connection_bind(cid)  (a DataConnection: raw bytes on data.sock)
"""

from . import codec
from .codec import (Attr, AttrType, DecodeError, Message, StreamFramer, FAMILY_V4, FAMILY_V6,
                    PROTO_TCP, PROTO_UDP, ALG_MD5, ALG_SHA256, MAGIC_COOKIE)
from .client import StunClient, TurnClient, rest_credentials
from .transport import ConnectionClosed, TcpTransport, UdpTransport
from .secure import DtlsTransport, TlsTransport, tls_client_context
from .tcprelay import DataConnection

__all__ = ["codec", "Attr", "AttrType", "DecodeError", "Message", "StreamFramer", "FAMILY_V4",
           "FAMILY_V6", "PROTO_TCP", "PROTO_UDP", "ALG_MD5", "ALG_SHA256", "MAGIC_COOKIE",
           "StunClient", "TurnClient", "rest_credentials", "ConnectionClosed", "TcpTransport",
           "UdpTransport", "TlsTransport", "DtlsTransport", "tls_client_context", "DataConnection"]
