"""ARI traffic on the loopback, counted from a tcpdump capture (`tcpdump -i lo -s0 -w F 'tcp port 8088'`).

    python bench/astside/ari_traffic.py F [--calls N]

Reassembles each TCP direction (pcap, Ethernet-framed loopback, IPv4), then counts
- the websocket events Asterisk sent, by application and type (server -> client frames, unmasked text);
- the REST requests the clients sent, by method and path (ids replaced by {id});
per call when --calls is given. Asterisk's own CPU is not touched: the capture taps the kernel.
"""

from __future__ import annotations

import argparse
import json
import re
import struct
from collections import Counter, defaultdict
from pathlib import Path

PORT = 8088


def streams(pcap: Path) -> dict[tuple, bytes]:
    data = pcap.read_bytes()
    magic = struct.unpack("<I", data[:4])[0]
    endian = "<" if magic in (0xA1B2C3D4, 0xA1B23C4D) else ">"
    link = struct.unpack(endian + "I", data[20:24])[0]
    pos, segs = 24, defaultdict(dict)
    while pos + 16 <= len(data):
        _, _, incl, _ = struct.unpack(endian + "IIII", data[pos : pos + 16])
        pkt = data[pos + 16 : pos + 16 + incl]
        pos += 16 + incl
        ip = pkt[14:] if link == 1 else pkt[16:] if link == 113 else pkt[4:]
        if not ip or ip[0] >> 4 != 4 or ip[9] != 6:
            continue
        ihl = (ip[0] & 15) * 4
        tcp = ip[ihl:]
        sport, dport, seq = struct.unpack("!HHI", tcp[:8])
        payload = tcp[(tcp[12] >> 4) * 4 : struct.unpack("!H", ip[2:4])[0] - ihl]
        if payload:
            segs[(sport, dport)].setdefault(seq, payload)
    return {k: b"".join(v[s] for s in sorted(v)) for k, v in segs.items()}


def ws_frames(stream: bytes) -> list[bytes]:
    at = stream.find(b"\r\n\r\n")
    if not stream.startswith(b"HTTP/1.1 101") or at < 0:
        return []
    pos, out = at + 4, []
    while pos + 2 <= len(stream):
        b1 = stream[pos + 1]
        n, pos = b1 & 127, pos + 2
        if n == 126:
            n, pos = struct.unpack("!H", stream[pos : pos + 2])[0], pos + 2
        elif n == 127:
            n, pos = struct.unpack("!Q", stream[pos : pos + 8])[0], pos + 8
        if b1 & 128:
            pos += 4  # masked (client frames): not ours to read
        out.append(stream[pos : pos + n])
        pos += n
    return out


ID = re.compile(r"/(?=[^/?]*[0-9])[^/?]{6,}")


def count(pcap: Path) -> tuple[Counter, Counter, int]:
    events: Counter = Counter()
    requests: Counter = Counter()
    sizes = 0
    for (sport, dport), stream in streams(pcap).items():
        if sport == PORT:
            for frame in ws_frames(stream):
                try:
                    event = json.loads(frame)
                except ValueError:
                    continue
                events[(event.get("application", "?"), event.get("type", "?"))] += 1
                sizes += len(frame)
        elif dport == PORT:
            for line in re.findall(rb"^(GET|POST|PUT|DELETE) (/ari/[^ ?]*)", stream, re.M):
                method, path = line[0].decode(), line[1].decode()
                if path != "/ari/events":
                    requests[f"{method} {ID.sub('/{id}', path)}"] += 1
    return events, requests, sizes


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("pcap", type=Path)
    parser.add_argument("--calls", type=int, default=0)
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()
    events, requests, size = count(args.pcap)
    per = args.calls or 1
    total = sum(events.values())
    print(f"events {total} ({total / per:.1f} per call, {size / per / 1024:.1f} KiB per call)")
    for (app, kind), n in events.most_common():
        print(f"  {n / per:7.2f}  {app:24} {kind}")
    print(f"REST requests {sum(requests.values())} ({sum(requests.values()) / per:.1f} per call)")
    for req, n in requests.most_common():
        print(f"  {n / per:7.2f}  {req}")
    if args.json:
        args.json.write_text(json.dumps({
            "calls": args.calls,
            "events_per_call": round(total / per, 2),
            "event_kib_per_call": round(size / per / 1024, 2),
            "events": {f"{a} {k}": round(n / per, 2) for (a, k), n in events.most_common()},
            "requests": {r: round(n / per, 2) for r, n in requests.most_common()},
        }, indent=1) + "\n")


if __name__ == "__main__":
    main()
