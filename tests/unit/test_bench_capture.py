"""The journey bench's pcap reading (bench/capture.py): kernel time stamps and SIP messages as tcpdump wrote them."""

from __future__ import annotations

import struct
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "bench"))

import capture


def _pcap(path: Path, packets: list[tuple[float, int, int, bytes]]) -> None:
    """A little-endian microsecond pcap on Ethernet (what `tcpdump -i lo -w` writes)."""
    out = [struct.pack("<IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, 65535, 1)]
    for at, sport, dport, payload in packets:
        udp = struct.pack("!HHHH", sport, dport, 8 + len(payload), 0) + payload
        ip = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + len(udp), 0, 0, 64, 17, 0, bytes([127, 0, 0, 1]),
                         bytes([127, 0, 0, 1])) + udp
        frame = b"\x00" * 12 + b"\x08\x00" + ip
        sec = int(at)
        out.append(struct.pack("<IIII", sec, round((at - sec) * 1e6), len(frame), len(frame)) + frame)
    path.write_bytes(b"".join(out))


def test_sip_messages_keep_the_kernel_time_ports_and_headers(tmp_path):
    """A captured INVITE and its 200 come back in order with their microsecond times, ports, method, status,
    Call-ID (compact form too) and the From user the bench pairs citizens by."""
    invite = (b"INVITE sip:0556000095@127.0.0.1 SIP/2.0\r\ni: abc@x\r\nFrom: <sip:0611000007@127.0.0.1>;tag=1\r\n"
              b"To: <sip:0556000095@127.0.0.1>\r\nCSeq: 1 INVITE\r\n\r\nv=0\r\n")
    ok = (b"SIP/2.0 200 OK\r\nCall-ID: abc@x\r\nFrom: <sip:0611000007@127.0.0.1>;tag=1\r\n"
          b"To: <sip:0556000095@127.0.0.1>;tag=9\r\nCSeq: 1 INVITE\r\n\r\n")
    path = tmp_path / "sip.pcap"
    _pcap(path, [(1000.000250, 35176, 5060, invite), (1000.003125, 5060, 35176, ok), (1000.004, 5060, 35176, b"\r\n")])
    messages = capture.sip_messages(path)
    assert [(m.method, m.status) for m in messages] == [("INVITE", None), (None, 200)]
    first, second = messages
    assert abs((second.at - first.at) - 0.002875) < 1e-6
    assert (first.sport, first.dport) == (35176, 5060)
    assert first.call_id == second.call_id == "abc@x"
    assert first.user("from") == "0611000007" and first.user("ruri") == "0556000095"
    assert not first.has_to_tag and second.has_to_tag and second.cseq_method == "INVITE"
