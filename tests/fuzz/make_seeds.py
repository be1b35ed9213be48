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


# --- seeds of the targets over the rest of the tree -------------------------------------------
REPO = HERE.parent.parent

CONFIG = {
    "minimal": b"realm: example.org\n",
    "listen_list": b'listen: ["127.0.0.1:3478", "[::1]:3478"]\nrealm: r\n',
    "users_map": b"auth:\n  users:\n    - {name: alice, password: secret}\n    - bob:pw\n",
    "bad_port": b'listen:\n  - "1.2.3.4:99999"\n',
    "typo": b"relam: x\n",
    "not_a_map": b"- a\n- b\n",
    "bad_yaml": b"realm: [unclosed\n",
    "twice": b"realm: a\nrealm: b\n",
    "nested_wrong": b"relay:\n  ports: 10-5\n",
    "limits": b"limits:\n  max_connections: 10\n  first_message_timeout: 5s\n",
    "redis_db": b"redis: redis://127.0.0.1:6379/2000000\n",
    "admin": b'admin:\n  listen: "127.0.0.1:9641"\n  api_key: k\n  credential_ttl: 10m\n',
    "anchor": b"realm: &r x\nsoftware: *r\n",
}

# byte 0: separator index (0-3 ':'), bit 7: huge clock skew; bytes 1-2: skew (s); then the name.
def rest(name, sep=0, skew=60):
    return bytes([sep]) + struct.pack(">H", skew) + name

REST = {
    "valid": rest(b"1767225600:alice"),
    "expired": rest(b"1000:alice"),
    "extra_colons": rest(b"1767225600:alice:app:1"),
    "leading_zeros": rest(b"0001767225600:bob"),
    "negative": rest(b"-5:alice"),
    "no_user": rest(b"1767225600:"),
    "no_expiry": rest(b":alice"),
    "dash_separator": rest(b"1767225600-alice", sep=4),
    "too_large": rest(b"99999999999999999999:alice"),
    "year_9999": rest(b"253402300799:alice"),
    "near_max_huge_skew": rest(b"9223372036854775000:x", sep=0x80),
    "plain_user": rest(b"alice"),
}

API_KEY = b"k-0123456789abcdef"

def http(setup, request):
    return bytes([setup]) + request

ADMIN = {
    "healthz": http(7, b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n"),
    "readyz_not_ready": http(3, b"GET /readyz HTTP/1.1\r\nHost: x\r\n\r\n"),
    "metrics": http(7, b"GET /metrics HTTP/1.0\r\n\r\n"),
    "post": http(7, b"POST /healthz HTTP/1.1\r\nContent-Length: 3\r\n\r\nabc"),
    "creds_header": http(7, b"GET /api/v1/turn-credentials?service=turn&username=alice HTTP/1.1\r\n"
                          b"Host: x\r\nAuthorization: Bearer " + API_KEY + b"\r\n\r\n"),
    "creds_query": http(7, b"GET /api/v1/turn-credentials?service=turn&username=alice&key="
                         + API_KEY + b" HTTP/1.1\r\nHost: x\r\n\r\n"),
    "creds_nul": http(7, b"GET /api/v1/turn-credentials?username=a%00b&key=" + API_KEY
                       + b" HTTP/1.1\r\n\r\n"),
    "creds_bad_utf8": http(7, b"GET /api/v1/turn-credentials?username=%ff%fe&key=" + API_KEY
                            + b" HTTP/1.1\r\n\r\n"),
    "creds_wrong_key": http(7, b"GET /api/v1/turn-credentials?username=a&key=nope HTTP/1.1\r\n\r\n"),
    "creds_no_secret": http(5, b"GET /api/v1/turn-credentials?username=a HTTP/1.1\r\n"
                             b"Authorization: Bearer " + API_KEY + b"\r\n\r\n"),
    "creds_no_key_configured": http(6, b"GET /api/v1/turn-credentials?username=a&key=x HTTP/1.1\r\n\r\n"),
    "absolute_target": http(7, b"GET http://x/healthz HTTP/1.1\r\n\r\n"),
    "chunked": http(7, b"GET /healthz HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n"),
    "sessions_list": http(7, b"GET /api/v1/allocations HTTP/1.1\r\nAuthorization: Bearer " + API_KEY
                          + b"\r\n\r\n"),
    "sessions_list_no_answer": http(15, b"GET /api/v1/allocations?key=" + API_KEY + b" HTTP/1.1\r\n\r\n"),
    "sessions_kick": http(7, b"DELETE /api/v1/allocations?user=alice HTTP/1.1\r\nAuthorization: Bearer "
                          + API_KEY + b"\r\n\r\n"),
    "sessions_kick_twice": http(7, b"DELETE /api/v1/allocations?user=alice&user=bob&key=" + API_KEY
                                + b" HTTP/1.1\r\n\r\n"),
    "sessions_kick_control": http(7, b"DELETE /api/v1/allocations?user=a%1b[2J&key=" + API_KEY
                                  + b" HTTP/1.1\r\n\r\n"),
    "sessions_kick_no_key": http(7, b"DELETE /api/v1/allocations?user=alice HTTP/1.1\r\n\r\n"),
    "sessions_put": http(7, b"PUT /api/v1/allocations HTTP/1.1\r\nContent-Length: 0\r\n\r\n"),
}
# fuzz_web: byte 0 bit 0 web.demo, bit 1 a secret, bit 2 credential budget spent, bit 3
# credential URIs configured; bit 7: signalling (message, room name, WebRooms program).
DEMO, SECRET, SPENT, URIS, SIGNAL = 1, 2, 4, 8, 0x80
UPGRADE = (b"Upgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Version: 13\r\n"
           b"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n")


def get(path, setup=DEMO | SECRET, method=b"GET", headers=b"Host: 127.0.0.1:8080\r\n", version=b"1.1",
        body=b""):
    return (bytes([setup]) + method + b" " + path + b" HTTP/" + version + b"\r\n" + headers + b"\r\n"
            + body)


def ws(target, headers=b""):
    return get(target, headers=b"Host: 127.0.0.1:8080\r\n" + UPGRADE + headers)


def rooms_program(ops):
    return bytes([SIGNAL]) + b"".join(bytes(op) for op in ops)


WEB = {
    "page_root": get(b"/"),
    "page_call_room": get(b"/call?room=abc"),
    "page_ice": get(b"/ice"),
    "file_call_js": get(b"/call.js"),
    "file_ice_js": get(b"/ice.js"),
    "file_common_js": get(b"/common.js"),
    "file_css": get(b"/web.css"),
    "file_index_html": get(b"/index.html"),
    "head_call": get(b"/call", method=b"HEAD"),
    "http10_keep_alive": get(b"/ice", version=b"1.0", headers=b"Connection: keep-alive\r\n"),
    "connection_close": get(b"/", headers=b"Host: x\r\nConnection: close\r\n"),
    "query_strings": get(b"/?a=b&c&d=%zz&e=%00"),
    "demo_off_root": get(b"/", setup=SECRET),
    "demo_off_credentials": get(b"/credentials", setup=SECRET),
    "credentials": get(b"/credentials"),
    "credentials_uris": get(b"/credentials", setup=DEMO | SECRET | URIS),
    "credentials_spent": get(b"/credentials", setup=DEMO | SECRET | SPENT),
    "credentials_no_secret": get(b"/credentials", setup=DEMO),
    "credentials_post": get(b"/credentials", method=b"POST", headers=b"Content-Length: 2\r\n", body=b"{}"),
    "credentials_query": get(b"/credentials?username=admin&ttl=999999"),
    "ws_upgrade": ws(b"/ws?room=abc"),
    "ws_same_origin": ws(b"/ws?room=abc-_1", b"Origin: http://127.0.0.1:8080\r\n"),
    "ws_other_origin": ws(b"/ws?room=abc", b"Origin: https://evil.example\r\n"),
    "ws_origin_null": ws(b"/ws?room=abc", b"Origin: null\r\n"),
    "ws_no_upgrade": get(b"/ws?room=abc"),
    "ws_no_room": ws(b"/ws"),
    "ws_two_rooms": ws(b"/ws?room=a&room=b"),
    "ws_bad_room": ws(b"/ws?room=a.b%2e%2e"),
    "ws_long_room": ws(b"/ws?room=" + b"x" * 65),
    "ws_post": ws(b"/ws?room=abc")[:1] + b"POST" + ws(b"/ws?room=abc")[4:],
    "traversal_dotdot": get(b"/../call.js"),
    "traversal_encoded": get(b"/%2e%2e/call.js"),
    "traversal_inner": get(b"/a/../call.js"),
    "traversal_dot": get(b"/./call.js"),
    "traversal_double_slash": get(b"//call.js"),
    "traversal_backslash": get(b"/..\\..\\etc\\passwd"),
    "traversal_etc_passwd": get(b"/etc/passwd"),
    "traversal_source_path": get(b"/server/web/call.js"),
    "traversal_nul": get(b"/call.js%00.html"),
    "traversal_query": get(b"/call.js?../../etc/passwd"),
    "trailing_slash": get(b"/call.js/"),
    "upper_case": get(b"/CALL.JS"),
    "absolute_form": get(b"http://127.0.0.1:8080/call.js"),
    "asterisk_options": get(b"*", method=b"OPTIONS"),
    "connect": get(b"127.0.0.1:443", method=b"CONNECT"),
    "bad_method_post": get(b"/", method=b"POST", headers=b"Content-Length: 3\r\n", body=b"abc"),
    "bad_method_delete": get(b"/call", method=b"DELETE"),
    "bad_method_put": get(b"/web.css", method=b"PUT"),
    "bad_method_custom": get(b"/", method=b"BREW"),
    "oversize_header": get(b"/", headers=b"X-Pad: " + b"a" * 9000 + b"\r\n"),
    "oversize_target": get(b"/" + b"a" * 9000),
    "oversize_body": get(b"/", headers=b"Content-Length: 2000\r\n", body=b"x" * 2000),
    "many_headers": get(b"/", headers=b"".join(b"X-H%d: v\r\n" % i for i in range(300))),
    "chunked_body": get(b"/", headers=b"Transfer-Encoding: chunked\r\n", body=b"3\r\nabc\r\n0\r\n\r\n"),
    "http_version_9": get(b"/", version=b"9.9"),
    "signal_offer": bytes([SIGNAL]) + b'{"type":"offer","sdp":"v=0\\r\\n"}',
    "signal_candidate": bytes([SIGNAL]) + b'{"type":"candidate","candidate":{"candidate":"c"}}',
    "signal_bye": bytes([SIGNAL]) + b'{"type":"bye"}',
    "signal_unknown_type": bytes([SIGNAL]) + b'{"type":"hello"}',
    "signal_type_not_string": bytes([SIGNAL]) + b'{"type":1}',
    "signal_array": bytes([SIGNAL]) + b'["offer"]',
    "signal_deep": bytes([SIGNAL]) + b'{"type":"offer","x":' + b"[" * 100 + b"]" * 100 + b"}",
    "signal_bad_utf8": bytes([SIGNAL]) + b'{"type":"offer","sdp":"\xff\xfe"}',
    "signal_duplicate_type": bytes([SIGNAL]) + b'{"type":"hello","type":"offer"}',
    "signal_trailing": bytes([SIGNAL]) + b'{"type":"bye"} {}',
    "room_name": bytes([SIGNAL]) + b"abc-_XYZ09",
    "rooms_two_and_third": rooms_program([(0, 1, 1), (0, 1, 2), (0, 1, 3), (2, 1, 1), (1, 1, 3),
                                          (1, 1, 1), (2, 1, 2), (1, 1, 2), (0, 1, 3)]),
    # F10: the third peer, refused by a full room, leaves it: nobody is told "peer-left".
    "regress_stranger_leaves_full_room": rooms_program([(0, 1, 1), (0, 1, 2), (0, 1, 3), (1, 1, 3),
                                                        (2, 1, 1)]),
    "rooms_too_many": rooms_program([(0, r, r) for r in range(130)] + [(1, 5, 5), (0, 129, 200)]),
}


# fuzz_dispatcher programs: op byte = client << 4 | opcode (0 allocate, 1 bad allocate,
# 2 permission T, 3 channel-bind CH T, 4 send T LEN.., 5 channel-data CH LEN.., 6 refresh Z,
# 7 close, 8 garbage KIND LEN.., 9 peer-send P LEN..). Targets T: 0, 1 peers, 2-4 clients' relays.
def op(client, code, *args):
    return bytes([client << 4 | code, *args])

DISPATCHER = {
    "allocate_permit_send": op(0, 0) + op(0, 2, 0) + op(0, 4, 0, 4) + b"ping" + op(0, 9, 0, 3) + b"abc",
    "channel_roundtrip": op(0, 0) + op(0, 3, 1, 1) + op(0, 5, 1, 5) + b"hello" + op(0, 9, 1, 2) + b"hi",
    "no_permission": op(0, 0) + op(0, 4, 0, 3) + b"xyz" + op(0, 9, 0, 3) + b"xyz",
    "relay_to_relay": (op(0, 0) + op(1, 0) + op(0, 2, 3) + op(1, 2, 2) + op(0, 4, 3, 4) + b"r2r!"
                       + op(1, 3, 2, 2) + op(1, 5, 2, 4) + b"back"),
    "tcp_close": op(2, 0) + op(2, 3, 0, 0) + op(2, 5, 0, 3) + b"abc" + op(2, 9, 4, 2) + b"in" + op(2, 7),
    "tcp_relay_to_udp": (op(2, 0) + op(0, 0) + op(2, 2, 2) + op(0, 2, 4) + op(2, 4, 2, 8)
                         + b"tcp->udp" + op(0, 3, 3, 4) + op(0, 5, 3, 8) + b"udp->tcp"),
    "refresh_delete_reuse": op(0, 0) + op(0, 6, 1) + op(0, 0) + op(0, 2, 0) + op(0, 6, 0),
    "unauthenticated": op(0, 1) + op(1, 1) + op(0, 8, 0, 8) + b"\x00\x19\x00\x04\x11\x00\x00\x00",
    "garbage_raw": op(0, 8, 1, 20) + bytes(range(20)) + op(1, 8, 6, 12) + b"\x80\x28\x00\x04abcd\x00\x06\x00\x00",
    "double_allocate": op(0, 0) + op(0, 0) + op(1, 6, 0) + op(2, 7),
}


def write_dir(name, items):
    out = HERE / "corpus" / name
    out.mkdir(parents=True, exist_ok=True)
    for key, data in items.items():
        (out / key).write_bytes(data)


def main_tree():
    write_dir("config", CONFIG)
    (HERE / "corpus" / "config" / "packaging_turnd_yaml").write_bytes(
        (REPO / "packaging" / "turnd.yaml").read_bytes())
    write_dir("rest_username", REST)
    write_dir("admin_http", ADMIN)
    write_dir("web", WEB)
    write_dir("dispatcher", DISPATCHER)


if __name__ == "__main__":
    main()
    main_tree()
