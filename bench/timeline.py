"""Where callcontrol's digit -> agent INVITE time goes, per call, from one loopback capture.

    # while a callcontrol-only journey runs (after "agents logged in"), in another shell:
    tcpdump -i lo -n -s 0 -B 65536 -w /tmp/cap.pcap 'tcp port 8088 or tcp port 6390 or udp port 5060'
    .venv/bin/python bench/timeline.py /tmp/cap.pcap

Four stretches (p50 / p95): Asterisk's ChannelDtmfReceived frame -> the enqueue's EVALSHA to Redis (ev_redis),
Redis's answer (redis_rtt), that answer -> the originate's REST frame to Asterisk (back_orig), the originate ->
the next INVITE Asterisk sends (orig_invite). Also when the music request leaves against the originate. Assumes
ARI's REST over the websocket (the default), one message per packet (small frames on lo are), Redis on 6390 and
calls at least a few ms apart (the INVITE is matched to the originate by order). Used in session 10 (README.md).
"""

from __future__ import annotations

import bisect
import json
import re
import struct
import sys
from collections.abc import Iterator
from pathlib import Path

ARI_PORT, REDIS_PORT, SIP_PORT = 8088, 6390, 5060


def packets(path: Path) -> Iterator[tuple[float, str, int, int, bytes]]:
    """(time, 'tcp'|'udp', source port, destination port, payload) of each IPv4 packet with a payload."""
    with path.open("rb") as f:
        head = f.read(24)
        nanos = struct.unpack("<I", head[:4])[0] == 0xA1B23C4D
        link = struct.unpack("<I", head[20:24])[0]
        offset = {1: 14, 113: 16, 0: 4}.get(link, 14)
        while len(record := f.read(16)) == 16:
            sec, frac, incl, _ = struct.unpack("<IIII", record)
            ip = f.read(incl)[offset:]
            if len(ip) < 20 or ip[0] >> 4 != 4:
                continue
            body = ip[(ip[0] & 15) * 4 :]
            sport, dport = struct.unpack("!HH", body[:4])
            at = sec + frac / (1e9 if nanos else 1e6)
            if ip[9] == 6 and (payload := body[(body[12] >> 4) * 4 :]):
                yield at, "tcp", sport, dport, payload
            elif ip[9] == 17:
                yield at, "udp", sport, dport, body[8:]


def ws_payload(frame: bytes) -> bytes:
    """The (unmasked) payload of the websocket frame a packet starts with."""
    if len(frame) < 2:
        return b""
    size, i = frame[1] & 0x7F, 2
    if size == 126:
        size, i = struct.unpack("!H", frame[2:4])[0], 4
    elif size == 127:
        size, i = struct.unpack("!Q", frame[2:10])[0], 10
    if not frame[1] & 0x80:
        return frame[i : i + size]
    key = frame[i : i + 4]
    return bytes(c ^ key[j % 4] for j, c in enumerate(frame[i + 4 : i + 4 + size]))


def stretches(path: Path) -> tuple[list[dict[str, float]], list[float]]:
    """Per call, the four stretches in seconds; and the music request's time minus the originate's."""
    dtmf: dict[str, float] = {}
    redis_out: dict[str, float] = {}
    redis_back: dict[str, float] = {}
    moh: dict[str, float] = {}
    originate: dict[str, float] = {}
    invites: list[float] = []
    asking: dict[int, str] = {}  # Redis client port -> the call its last EVALSHA was for
    for at, kind, sport, dport, payload in packets(path):
        if kind == "udp":
            if sport == SIP_PORT and payload.startswith(b"INVITE "):
                invites.append(at)
        elif sport == ARI_PORT and b'"ChannelDtmfReceived"' in (text := ws_payload(payload)):
            with_id = json.loads(text)
            dtmf.setdefault(with_id["channel"]["id"], at)
        elif dport == ARI_PORT:
            text = ws_payload(payload)
            if m := re.search(rb"channels/([^/\"?]+)/moh", text):
                moh.setdefault(m.group(1).decode(), at)
            if m := re.search(rb"originator=([^&\"]+)", text):
                originate.setdefault(m.group(1).decode(), at)
        elif dport == REDIS_PORT and b"EVALSHA" in payload:
            for call in dtmf.keys() - redis_out.keys():
                if call.encode() in payload:
                    redis_out[call], asking[sport] = at, call
        elif sport == REDIS_PORT and (call := asking.pop(dport, None)):
            redis_back[call] = at
    invites.sort()
    rows = []
    for call, digit in dtmf.items():
        sent = originate.get(call)
        if sent is None or call not in redis_back or (k := bisect.bisect_left(invites, sent)) >= len(invites):
            continue
        rows.append({"ev_redis": redis_out[call] - digit, "redis_rtt": redis_back[call] - redis_out[call],
                     "back_orig": sent - redis_back[call], "orig_invite": invites[k] - sent,
                     "total": invites[k] - digit})  # fmt: skip
    return rows, [moh[c] - originate[c] for c in originate if c in moh]


def main() -> None:
    rows, music = stretches(Path(sys.argv[1]))
    print(f"{len(rows)} calls")
    for key in ("ev_redis", "redis_rtt", "back_orig", "orig_invite", "total"):
        values = sorted(r[key] * 1000 for r in rows)
        if values:
            print(f"{key:12s} p50 {values[len(values) // 2]:.3f}  p95 {values[int(len(values) * 0.95)]:.3f} ms")
    if music:
        music.sort()
        print(f"music request - originate p50 {music[len(music) // 2] * 1000:.3f} ms")


if __name__ == "__main__":
    main()
