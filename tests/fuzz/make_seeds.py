#!/usr/bin/env python3
"""Writes the hand-built seed inputs of corpus/message and corpus/framing.

Independent of the C++ code under test: TLVs, HMACs and CRCs come from Python's standard
library. Re-run after changing a seed; fuzzer finds and crash inputs are committed as they are.
"""
import hashlib
import hmac
import pathlib
import re
import struct
import zlib

HERE = pathlib.Path(__file__).resolve().parent
VECTORS = HERE.parent / "vectors"
COOKIE = 0x2112A442
TID = bytes.fromhex("b7e7a701bc34d686fa87dfae")
KEY = hashlib.md5(b"alice:example.org:secret").digest()


def tlv(attr_type, value):
    return struct.pack(">HH", attr_type, len(value)) + value + b"\0" * (-len(value) % 4)


def xor_addr(ip, port):
    import ipaddress
    raw = ipaddress.ip_address(ip).packed
    mask = struct.pack(">I", COOKIE) + TID
    family = 1 if len(raw) == 4 else 2
    return bytes([0, family]) + struct.pack(">H", port ^ (COOKIE >> 16)) + bytes(
        a ^ b for a, b in zip(raw, mask))


def message(msg_type, attrs, mi=False, mi256=False, fp=True, cookie=COOKIE):
    body = b"".join(attrs)
    header = lambda length: struct.pack(">HHI", msg_type, length, cookie) + TID
    if mi:
        mac = hmac.new(KEY, header(len(body) + 24) + body, "sha1").digest()
        body += tlv(0x0008, mac)
    if mi256:
        mac = hmac.new(KEY, header(len(body) + 36) + body, "sha256").digest()
        body += tlv(0x001C, mac)
    if fp:
        crc = zlib.crc32(header(len(body) + 8) + body) ^ 0x5354554E
        body += tlv(0x8028, struct.pack(">I", crc))
    return header(len(body)) + body


def u32(v):
    return struct.pack(">I", v)


def channel_data(channel, data, pad):
    return struct.pack(">HH", channel, len(data)) + data + (b"\0" * (-len(data) % 4) if pad else b"")


AUTH = [tlv(0x0006, b"alice"), tlv(0x0014, b"example.org"), tlv(0x0015, b"obMatJos2AAABadQ")]

MESSAGES = {
    "allocate_request_udp": message(0x0003, [tlv(0x0019, b"\x11\0\0\0"), tlv(0x000D, u32(600))]
                                    + AUTH, mi=True),
    "allocate_request_even_port_df": message(0x0003, [
        tlv(0x0019, b"\x11\0\0\0"), tlv(0x0018, b"\x80"), tlv(0x001A, b""),
        tlv(0x0017, b"\x02\0\0\0"), tlv(0x8000, b"\x02\0\0\0")] + AUTH, mi=True, mi256=True),
    "allocate_request_reservation_token": message(0x0003, [
        tlv(0x0019, b"\x06\0\0\0"), tlv(0x0022, bytes(range(8)))] + AUTH, mi=True),
    "allocate_401": message(0x0113, [
        tlv(0x0009, b"\0\0\x04\x01Unauthorized"), tlv(0x0014, b"example.org"),
        tlv(0x0015, b"obMatJos2AAABadQ"), tlv(0x8002, bytes.fromhex("0001000000020000")),
        tlv(0x8022, b"turnd")]),
    "allocate_420": message(0x0113, [
        tlv(0x0009, b"\0\0\x04\x14Unknown Attribute"), tlv(0x000A, bytes.fromhex("00310032"))]),
    "allocate_success": message(0x0103, [
        tlv(0x0016, xor_addr("203.0.113.9", 49152)), tlv(0x000D, u32(600)),
        tlv(0x0020, xor_addr("198.51.100.7", 55432)), tlv(0x8022, b"turnd")], mi=True),
    "refresh_delete": message(0x0004, [tlv(0x000D, u32(0))] + AUTH, mi=True),
    "create_permission_v6": message(0x0008, [
        tlv(0x0012, xor_addr("2001:db8::1", 0)), tlv(0x0012, xor_addr("2001:db8::2", 0))] + AUTH,
        mi=True),
    "channel_bind": message(0x0009, [tlv(0x000C, b"\x40\x01\0\0"),
                                     tlv(0x0012, xor_addr("192.0.2.15", 5000))] + AUTH, mi=True),
    "send_indication": message(0x0016, [tlv(0x0012, xor_addr("192.0.2.15", 5000)),
                                        tlv(0x0013, b"hello"), tlv(0x001A, b"")], fp=False),
    "data_indication_v6": message(0x0017, [tlv(0x0012, xor_addr("2001:db8::1", 6000)),
                                           tlv(0x0013, bytes(range(37)))], fp=False),
    "connect_request": message(0x000A, [tlv(0x0012, xor_addr("192.0.2.15", 80))] + AUTH, mi=True),
    "connection_bind": message(0x000B, [tlv(0x002A, b"\x12\x34\x56\x78")] + AUTH, mi=True),
    "userhash_sha256": message(0x0003, [
        tlv(0x001E, hashlib.sha256(b"alice:example.org").digest()), tlv(0x0014, b"example.org"),
        tlv(0x0015, b"obMatJos2AAABadQ"), tlv(0x8002, bytes.fromhex("0001000000020000")),
        tlv(0x001D, bytes.fromhex("00020000")), tlv(0x0019, b"\x11\0\0\0")], mi256=True),
    "binding_ice": message(0x0001, [tlv(0x0006, b"a:b"), tlv(0x0024, u32(0x6E0001FF)),
                                    tlv(0x802A, bytes(8)), tlv(0x0025, b"")], mi=True),
    "binding_rfc3489": message(0x0001, [], fp=False, cookie=0x01020304),
    "unknown_required": message(0x0001, [tlv(0x0031, b"x"), tlv(0x8031, b"y")]),
    "error_address": message(0x0113, [tlv(0x8001, b"\x02\0\x04\x28Address Family not Supported"),
                                      tlv(0x0009, b"\0\0\x05\x08")]),
}

# Regression: the builder must refuse a message over the 16-bit STUN length. A 65520-byte DATA
# leaves no room for the MI + MI-SHA256 + FINGERPRINT that fuzz_message adds to its copy.
MESSAGES["crash-builder-length-wraps"] = message(0x0016, [tlv(0x0013, b"\x5a" * 65520)], fp=False)

STUN = MESSAGES["allocate_request_udp"]
FRAMING = {
    "channel_data_datagram": channel_data(0x4001, b"hello", pad=False),
    "channel_data_padded": channel_data(0x4001, b"hello", pad=True),
    "channel_data_rfc5766_range": channel_data(0x7FFF, b"abc", pad=True),
    "stream_mixed": (channel_data(0x4001, b"hello", True) + STUN + channel_data(0x4002, b"", True)
                     + MESSAGES["send_indication"] + channel_data(0x4FFF, bytes(range(64)), True)),
    "stream_partial_tail": STUN + channel_data(0x4001, b"0123456789", True)[:9],
    "stream_garbage_after_frame": channel_data(0x4001, b"hi", True) + b"\x16\x03\x01\x00\x05hello",
    "stream_bad_stun_length": STUN + bytes.fromhex("000100022112a442"),
}


def load_hex(path):
    text = "".join(re.sub(r"#.*", "", line) for line in path.read_text().splitlines())
    return bytes.fromhex("".join(text.split()))


def main():
    out = HERE / "corpus" / "message"
    for vector in sorted(VECTORS.glob("rfc5769_*.hex")):
        (out / vector.stem).write_bytes(load_hex(vector))
    for name, data in MESSAGES.items():
        (out / name).write_bytes(data)
    for name, data in FRAMING.items():
        (HERE / "corpus" / "framing" / name).write_bytes(data)


if __name__ == "__main__":
    main()
