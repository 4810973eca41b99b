"""bench/timeline.py: the digit -> agent INVITE stretches of one call, read from a loopback capture."""

from __future__ import annotations

import struct
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "bench"))

import timeline

LO = bytes([127, 0, 0, 1])


def _packet(at: float, proto: int, sport: int, dport: int, payload: bytes) -> bytes:
    if proto == 17:
        body = struct.pack("!HHHH", sport, dport, 8 + len(payload), 0) + payload
    else:
        body = struct.pack("!HHIIBBHHH", sport, dport, 0, 0, 5 << 4, 0x18, 65535, 0, 0) + payload
    ip = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + len(body), 0, 0, 64, proto, 0, LO, LO) + body
    frame = b"\x00" * 12 + b"\x08\x00" + ip
    sec = int(at)
    return struct.pack("<IIII", sec, round((at - sec) * 1e6), len(frame), len(frame)) + frame


def _ws(text: bytes, key: bytes | None = None) -> bytes:
    """One websocket text frame (masked when `key` is given, as a client sends it)."""
    if key is None:
        return bytes([0x81, len(text)]) + text
    return bytes([0x81, 0x80 | len(text)]) + key + bytes(c ^ key[i % 4] for i, c in enumerate(text))


def test_the_four_stretches_of_a_call_and_the_music_after_its_originate(tmp_path):
    """DTMF event -> EVALSHA -> Redis's answer -> originate -> INVITE, in ms, and the music request 0.5 ms later."""
    dtmf = b'{"type":"ChannelDtmfReceived","digit":"1","channel":{"id":"c1"}}'
    originate = b'{"type":"RESTRequest","method":"POST","uri":"channels?endpoint=PJSIP%2F2001&originator=c1"}'
    moh = b'{"type":"RESTRequest","method":"POST","uri":"channels/c1/moh?mohClass=default"}'
    key = b"\x01\x02\x03\x04"
    packets = [
        _packet(10.000, 6, 8088, 40000, _ws(dtmf)),
        _packet(10.001, 6, 41000, 6390, b"*3\r\n$7\r\nEVALSHA\r\n$2\r\nc1\r\n"),
        _packet(10.0015, 6, 6390, 41000, b"$2\r\nok\r\n"),
        _packet(10.0025, 6, 40000, 8088, _ws(originate, key)),
        _packet(10.003, 6, 40000, 8088, _ws(moh, key)),
        _packet(10.004, 17, 5060, 5070, b"INVITE sip:2001@127.0.0.1 SIP/2.0\r\n\r\n"),
    ]
    path = tmp_path / "cap.pcap"
    path.write_bytes(struct.pack("<IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, 65535, 1) + b"".join(packets))
    rows, music = timeline.stretches(path)
    assert [{k: round(v * 1000, 3) for k, v in r.items()} for r in rows] == [
        {"ev_redis": 1.0, "redis_rtt": 0.5, "back_orig": 1.0, "orig_invite": 1.5, "total": 4.0}]
    assert [round(m * 1000, 3) for m in music] == [0.5]
