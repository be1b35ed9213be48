"""Unit tests of our client's codec (tests/lib/turnclient) on the RFC 5769 test vectors, plus
round trips of every attribute helper. No server needed."""

import struct

import pytest

import _paths  # noqa: F401  (puts tests/lib on sys.path)
from turnclient import codec
from turnclient.codec import Attr, AttrType, DecodeError, Message, StreamFramer


def h(text: str) -> bytes:
    return bytes.fromhex("".join(text.split()))


# RFC 5769 §2.1 Sample Request (short-term password "VOkJxbRl1RmTxUk/WvJxBt"; USERNAME padded
# with spaces as in the RFC, which RFC 8489 receivers ignore)
SAMPLE_REQUEST = h("""
    00 01 00 58 21 12 a4 42 b7 e7 a7 01 bc 34 d6 86 fa 87 df ae
    80 22 00 10 53 54 55 4e 20 74 65 73 74 20 63 6c 69 65 6e 74
    00 24 00 04 6e 00 01 ff
    80 29 00 08 93 2f f9 b1 51 26 3b 36
    00 06 00 09 65 76 74 6a 3a 68 36 76 59 20 20 20
    00 08 00 14 9a ea a7 0c bf d8 cb 56 78 1e f2 b5 b2 d3 f2 49 c1 b5 71 a2
    80 28 00 04 e5 7a 3b cf""")

# §2.2 Sample IPv4 Response: XOR-MAPPED-ADDRESS 192.0.2.1:32853
SAMPLE_IPV4_RESPONSE = h("""
    01 01 00 3c 21 12 a4 42 b7 e7 a7 01 bc 34 d6 86 fa 87 df ae
    80 22 00 0b 74 65 73 74 20 76 65 63 74 6f 72 20
    00 20 00 08 00 01 a1 47 e1 12 a6 43
    00 08 00 14 2b 91 f5 99 fd 9e 90 c3 8c 74 89 f9 2a f9 ba 53 f0 6b e7 d7
    80 28 00 04 c0 7d 4c 96""")

# §2.3 Sample IPv6 Response: XOR-MAPPED-ADDRESS [2001:db8:1234:5678:11:2233:4455:6677]:32853
SAMPLE_IPV6_RESPONSE = h("""
    01 01 00 48 21 12 a4 42 b7 e7 a7 01 bc 34 d6 86 fa 87 df ae
    80 22 00 0b 74 65 73 74 20 76 65 63 74 6f 72 20
    00 20 00 14 00 02 a1 47 01 13 a9 fa a5 d3 f1 79 bc 25 f4 b5 be d2 b9 d9
    00 08 00 14 a3 82 95 4e 4b e6 7b f1 17 84 c9 7c 82 92 c2 75 bf e3 ed 41
    80 28 00 04 c8 fb 0b 4c""")

# §2.4 Sample Request with Long-Term Authentication: user "マトリックス", password "TheMatrIX",
# realm "example.org", nonce "f//499k954d6OL34oL9FSTvy64sA"
SAMPLE_LONG_TERM_REQUEST = h("""
    00 01 00 60 21 12 a4 42 78 ad 34 33 c6 ad 72 c0 29 da 41 2e
    00 06 00 12 e3 83 9e e3 83 88 e3 83 aa e3 83 83 e3 82 af e3 82 b9 00 00
    00 15 00 1c 66 2f 2f 34 39 39 6b 39 35 34 64 36 4f 4c 33 34 6f 4c 39 46 53 54 76 79 36 34 73 41
    00 14 00 0b 65 78 61 6d 70 6c 65 2e 6f 72 67 00
    00 08 00 14 f6 70 24 65 6d d6 4a 3e 02 b8 e0 71 2e 85 c9 a2 8c a8 96 66""")

SHORT_TERM_PASSWORD = "VOkJxbRl1RmTxUk/WvJxBt"
TID = h("b7 e7 a7 01 bc 34 d6 86 fa 87 df ae")


def test_sample_request_decodes_and_verifies():
    m = Message.decode(SAMPLE_REQUEST)
    assert (m.method, m.cls) == (codec.BINDING, codec.REQUEST)
    assert m.tid == TID and not m.is_rfc3489
    assert m.software == "STUN test client"
    assert m.get(AttrType.USERNAME) == b"evtj:h6vY"
    assert m.get(AttrType.PRIORITY) == h("6e 00 01 ff")
    assert m.get(AttrType.ICE_CONTROLLED) == h("93 2f f9 b1 51 26 3b 36")
    assert m.check_integrity(codec.short_term_key(SHORT_TERM_PASSWORD)) is True
    assert m.check_integrity(b"wrong password") is False
    assert m.check_fingerprint() is True


def test_sample_request_reencodes_bit_exact():
    m = Message.decode(SAMPLE_REQUEST)
    keep = [a for a in m.attrs if a.type not in (AttrType.MESSAGE_INTEGRITY, AttrType.FINGERPRINT)]
    for a in keep:
        if a.type == AttrType.USERNAME:
            a.padding = b"   "  # the RFC pads USERNAME with spaces
    out = Message(m.method, m.cls, m.tid, keep).encode(
        key=codec.short_term_key(SHORT_TERM_PASSWORD), integrity="sha1", fingerprint=True)
    assert out == SAMPLE_REQUEST


@pytest.mark.parametrize("vector,addr", [
    (SAMPLE_IPV4_RESPONSE, ("192.0.2.1", 32853)),
    (SAMPLE_IPV6_RESPONSE, ("2001:db8:1234:5678:11:2233:4455:6677", 32853)),
])
def test_sample_responses(vector, addr):
    m = Message.decode(vector)
    assert (m.method, m.cls) == (codec.BINDING, codec.SUCCESS)
    assert m.software == "test vector"
    assert m.xor_mapped_address == addr
    assert m.check_integrity(codec.short_term_key(SHORT_TERM_PASSWORD)) is True
    assert m.check_fingerprint() is True
    # and our encoder produces the same bytes from the decoded pieces
    rebuilt = Message(codec.BINDING, codec.SUCCESS, TID)
    rebuilt.add(AttrType.SOFTWARE, b"test vector", padding=b" ")
    rebuilt.add_xor_address(AttrType.XOR_MAPPED_ADDRESS, addr)
    assert rebuilt.encode(key=codec.short_term_key(SHORT_TERM_PASSWORD), integrity="sha1",
                          fingerprint=True) == vector


def test_sample_long_term_request():
    m = Message.decode(SAMPLE_LONG_TERM_REQUEST)
    user = m.get(AttrType.USERNAME).decode()
    assert user == "\u30de\u30c8\u30ea\u30c3\u30af\u30b9"
    assert m.realm == "example.org"
    assert m.nonce == "f//499k954d6OL34oL9FSTvy64sA"
    key = codec.long_term_key(user, "example.org", "TheMatrIX")
    assert key == codec.long_term_key(user, "example.org", "TheMatrIX", codec.ALG_MD5)
    assert m.check_integrity(key) is True
    assert m.check_integrity(codec.long_term_key(user, "example.org", "thematrix")) is False
    assert m.check_fingerprint() is None


def test_fingerprint_detects_corruption():
    bad = bytearray(SAMPLE_IPV4_RESPONSE)
    bad[-1] ^= 0x01
    assert Message.decode(bytes(bad)).check_fingerprint() is False
    bad = bytearray(SAMPLE_IPV4_RESPONSE)
    bad[30] ^= 0x01  # inside SOFTWARE: FINGERPRINT and MESSAGE-INTEGRITY both break
    m = Message.decode(bytes(bad))
    assert m.check_fingerprint() is False
    assert m.check_integrity(codec.short_term_key(SHORT_TERM_PASSWORD)) is False


def test_message_type_bits():
    for method in (codec.BINDING, codec.ALLOCATE, codec.REFRESH, codec.SEND, codec.DATA,
                   codec.CREATE_PERMISSION, codec.CHANNEL_BIND, 0xFFF):
        for cls in range(4):
            assert codec.type_to_method_class(codec.method_class_to_type(method, cls)) == (method, cls)
    assert codec.method_class_to_type(codec.BINDING, codec.SUCCESS) == 0x0101
    assert codec.method_class_to_type(codec.ALLOCATE, codec.ERROR) == 0x0113
    assert codec.method_class_to_type(codec.SEND, codec.INDICATION) == 0x0016
    assert codec.method_class_to_type(codec.DATA, codec.INDICATION) == 0x0017
    assert codec.method_class_to_type(codec.CHANNEL_BIND, codec.REQUEST) == 0x0009


@pytest.mark.parametrize("addr", [("127.0.0.1", 3478), ("::1", 1), ("2001:db8::ffff", 65535),
                                  ("::ffff:127.0.0.1", 5000), ("64:ff9b::7f00:1", 9)])
def test_xor_address_round_trip(addr):
    tid = codec.random_tid()
    enc = codec.encode_xor_address(addr, tid)
    assert codec.decode_xor_address(enc, tid) == (codec.normalize_ip(addr[0]), addr[1])
    assert codec.decode_address(codec.encode_address(addr)) == (codec.normalize_ip(addr[0]), addr[1])
    assert enc[1] == (codec.FAMILY_V4 if ":" not in addr[0] else codec.FAMILY_V6)


def test_attribute_helpers_round_trip():
    m = Message(codec.ALLOCATE, codec.ERROR)
    m.add(AttrType.ERROR_CODE, codec.encode_error_code(438, "Stale Nonce"))
    m.add(AttrType.UNKNOWN_ATTRIBUTES, codec.encode_unknown_attributes([0x0031, 0x0032, 0x0033]))
    m.add(AttrType.LIFETIME, codec.encode_u32(600))
    m.add(AttrType.RESERVATION_TOKEN, b"12345678")
    m.add(AttrType.CHANNEL_NUMBER, codec.encode_channel_number(0x4001))
    m.add(AttrType.ADDRESS_ERROR_CODE, codec.encode_address_error_code(codec.FAMILY_V6, 440, "no v6"))
    m.add(AttrType.PASSWORD_ALGORITHMS, codec.encode_password_algorithms(
        [(codec.ALG_MD5, b""), (codec.ALG_SHA256, b""), (0x7777, b"abc")]))
    m.add(AttrType.EVEN_PORT, codec.encode_even_port(True))
    d = Message.decode(m.encode(fingerprint=True))
    assert d.error_code == 438 and d.error_reason == "Stale Nonce"
    assert d.unknown_attributes == [0x0031, 0x0032, 0x0033]
    assert d.lifetime == 600
    assert d.reservation_token == b"12345678"
    assert d.channel_number == 0x4001
    assert d.address_error_code == (codec.FAMILY_V6, 440, "no v6")
    assert d.password_algorithms == [(codec.ALG_MD5, b""), (codec.ALG_SHA256, b""), (0x7777, b"abc")]
    assert d.get(AttrType.EVEN_PORT) == b"\x80"
    assert d.check_fingerprint() is True
    assert len(d.raw) % 4 == 0


def test_sha256_integrity_and_both():
    key = codec.long_term_key("user", "realm", "pass", codec.ALG_SHA256)
    assert len(key) == 32
    m = Message(codec.BINDING)
    m.add(AttrType.USERNAME, b"user")
    for mode in ("sha1", "sha256", "both"):
        d = Message.decode(m.encode(key=key, integrity=mode, fingerprint=True))
        assert d.check_fingerprint() is True
        assert d.check_integrity(key) is (True if mode != "sha256" else None)
        assert d.check_integrity_sha256(key) is (True if mode != "sha1" else None)
        if mode == "both":
            assert d.attr_types()[-3:] == [AttrType.MESSAGE_INTEGRITY, AttrType.MESSAGE_INTEGRITY_SHA256,
                                           AttrType.FINGERPRINT]
        assert d.check_integrity_sha256(b"x" * 32) in (False, None)


def test_userhash_and_rest_credentials():
    import base64
    import hashlib
    import hmac
    assert codec.userhash("user", "realm") == hashlib.sha256(b"user:realm").digest()
    from turnclient import rest_credentials
    u, p = rest_credentials("secret", "alice", ttl=100, now=1000)
    assert u == "1100:alice"
    assert p == base64.b64encode(hmac.new(b"secret", b"1100:alice", hashlib.sha1).digest()).decode()


@pytest.mark.parametrize("data", [
    b"", b"\x00" * 19,
    h("00 01 00 05 21 12 a4 42") + b"\0" * 17,                       # length not multiple of 4
    h("00 01 00 08 21 12 a4 42") + b"\0" * 12 + h("80 22 00 10"),    # attribute past the end
    h("00 01 00 40 21 12 a4 42") + b"\0" * 12,                       # length past the datagram
    h("c0 01 00 00 21 12 a4 42") + b"\0" * 12,                       # top bits set
])
def test_decode_rejects_malformed(data):
    with pytest.raises(DecodeError):
        Message.decode(data)


def test_negative_test_knobs():
    m = Message(codec.BINDING)
    m.add(0x8031, b"abc", declared_length=200)
    wire = m.encode(header_length=4, trailing=b"xyz")
    assert struct.unpack("!H", wire[2:4])[0] == 4
    assert wire[20:24] == h("80 31 00 c8") and wire.endswith(b"xyz")


def test_channel_data_and_stream_framer():
    assert codec.encode_channel_data(0x4000, b"abcde", pad=True) == h("40 00 00 05") + b"abcde\0\0\0"
    assert codec.encode_channel_data(0x4000, b"abcd", pad=True) == h("40 00 00 04") + b"abcd"
    assert codec.decode_channel_data(h("40 01 00 03") + b"xyz\0") == (0x4001, b"xyz")
    stun = Message(codec.BINDING).encode(fingerprint=True)
    stream = (codec.encode_channel_data(0x4000, b"a", pad=True) + stun
              + codec.encode_channel_data(0x7FFF, b"hello", pad=True))
    f = StreamFramer()
    frames = []
    for i in range(len(stream)):  # byte by byte
        f.feed(stream[i:i + 1])
        fr = f.next_frame()
        if fr:
            frames.append(fr)
    assert [k for k, _ in frames] == ["channel", "stun", "channel"]
    assert codec.decode_channel_data(frames[0][1]) == (0x4000, b"a")
    assert frames[1][1] == stun
    assert codec.decode_channel_data(frames[2][1]) == (0x7FFF, b"hello")
    f.feed(b"\xff\xff\xff\xff")
    with pytest.raises(DecodeError):
        f.next_frame()


def test_rfc3489_message():
    m = Message(codec.BINDING, cookie=0x01020304)
    wire = m.encode()
    d = Message.decode(wire)
    assert d.is_rfc3489 and d.tid16 == wire[4:20]


def test_security_features_of_nonce():
    import base64
    feats = base64.b64encode((codec.FEATURE_PASSWORD_ALGORITHMS | codec.FEATURE_USERNAME_ANONYMITY)
                             .to_bytes(3, "big")).decode()
    assert codec.security_features("obMatJos2" + feats + "rest-of-nonce") == 0xC00000
    assert codec.security_features("obMatJos2" + "AAAA") == 0
    assert codec.security_features("f//499k954d6OL34oL9FSTvy64sA") is None
    assert codec.security_features(None) is None
