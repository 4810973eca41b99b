"""Loopback captures for bench/journey.py: tcpdump on lo (kernel time stamps), parsed with struct (no dependency).

Two captures per phase: SIP on 5060 (whole packets) and RTP to/from the citizens' media port (64-byte snaplen:
enough for the RTP header and an RFC 4733 payload). `journey()` turns them into one record per citizen call.
"""

from __future__ import annotations

import re
import signal
import struct
import subprocess
from collections import defaultdict
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

SIP_PORT = 5060


class Tcpdump:
    """tcpdump -i lo writing `path`; stop() flushes it (SIGINT) and returns the kernel's drop count line."""

    def __init__(self, path: Path, bpf: str, snaplen: int = 0) -> None:
        self.path = path
        self.err = path.with_suffix(".tcpdump.txt")
        with self.err.open("wb") as err:
            self.proc = subprocess.Popen(
                ["tcpdump", "-i", "lo", "-n", "-s", str(snaplen), "-B", "32768", "-w", str(path), bpf],
                stdout=subprocess.DEVNULL, stderr=err,
            )  # fmt: skip

    def wait_ready(self, timeout: float = 5.0) -> None:
        import time

        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if b"listening on" in self.err.read_bytes():
                return
            time.sleep(0.02)
        raise RuntimeError(f"tcpdump did not start: {self.err.read_text(errors='replace')}")

    def stop(self) -> str:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGINT)
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(5)
        text = self.err.read_text(errors="replace")
        dropped = re.search(r"(\d+) packets dropped by kernel", text)
        return dropped.group(0) if dropped else text.strip().splitlines()[-1:][0] if text.strip() else ""

    def kernel_drops(self) -> int:
        found = re.search(r"(\d+) packets dropped by kernel", self.err.read_text(errors="replace"))
        return int(found.group(1)) if found else -1


def udp_packets(path: Path) -> Iterator[tuple[float, int, int, bytes]]:
    """(time, source port, destination port, UDP payload) of every IPv4/UDP packet of a pcap file."""
    data = path.read_bytes()
    if len(data) < 24:
        return
    magic = struct.unpack_from("<I", data)[0]
    endian = "<" if magic in (0xA1B2C3D4, 0xA1B23C4D) else ">"
    nano = struct.unpack_from(endian + "I", data)[0] == 0xA1B23C4D
    linktype = struct.unpack_from(endian + "I", data, 20)[0]
    link = {1: 14, 113: 16, 0: 4, 276: 20}.get(linktype)
    if link is None:
        raise ValueError(f"{path}: link type {linktype} not handled")
    off = 24
    while off + 16 <= len(data):
        sec, frac, caplen, _ = struct.unpack_from(endian + "IIII", data, off)
        off += 16
        frame = data[off : off + caplen]
        off += caplen
        ip = frame[link:]
        if len(ip) < 28 or ip[0] >> 4 != 4 or ip[9] != 17:
            continue
        ihl = (ip[0] & 0x0F) * 4
        sport, dport = struct.unpack_from("!HH", ip, ihl)
        yield sec + frac / (1e9 if nano else 1e6), sport, dport, ip[ihl + 8 :]


# ------------------------------------------------------------------------------------------------ SIP

_COMPACT = {"f": "from", "t": "to", "i": "call-id", "m": "contact", "l": "content-length"}


@dataclass(frozen=True)
class Sip:
    at: float
    sport: int
    dport: int
    start: str
    headers: dict[str, str]
    body: str

    @property
    def method(self) -> str | None:
        return None if self.start.startswith("SIP/2.0") else self.start.split(" ", 1)[0]

    @property
    def status(self) -> int | None:
        return int(self.start.split()[1]) if self.start.startswith("SIP/2.0") else None

    @property
    def cseq_method(self) -> str:
        return self.headers.get("cseq", "").split()[-1:][0] if self.headers.get("cseq") else ""

    @property
    def call_id(self) -> str:
        return self.headers.get("call-id", "")

    def user(self, header: str) -> str:
        """The user part of a From/To header (or of the Request-URI with header 'ruri')."""
        value = self.start.split()[1] if header == "ruri" else self.headers.get(header, "")
        return value.split("sip:", 1)[-1].split("@", 1)[0]

    @property
    def has_to_tag(self) -> bool:
        return ";tag=" in self.headers.get("to", "")


def sip_messages(path: Path) -> list[Sip]:
    out = []
    for at, sport, dport, payload in udp_packets(path):
        text = payload.decode("utf-8", errors="replace")
        head, _, body = text.partition("\r\n\r\n")
        lines = head.split("\r\n")
        if not lines or not lines[0] or lines[0].startswith("\x00"):
            continue  # keep-alive
        headers: dict[str, str] = {}
        for line in lines[1:]:
            name, sep, value = line.partition(":")
            if sep:
                key = name.strip().lower()
                headers.setdefault(_COMPACT.get(key, key), value.strip())
        out.append(Sip(at, sport, dport, lines[0], headers, body))
    return out


def caller_key(user: str) -> str:
    """The last 9 digits of a number (0611000001 and +33611000001 are one caller)."""
    return "".join(c for c in user if c.isdigit())[-9:]


# ------------------------------------------------------------------------------------------------ one record per call


@dataclass
class Call:
    call_id: str
    caller: str
    invite: float
    answered: float | None = None  # 200 OK to the INVITE, to the citizen
    final: int | None = None
    rtp_port: int | None = None  # Asterisk's port in that 200's SDP
    prompt: float | None = None  # first audio RTP packet Asterisk -> citizen
    digit: float | None = None  # first RFC 4733 packet citizen -> Asterisk
    digit_end: float | None = None  # first end-of-event packet
    agent_invite: float | None = None  # first INVITE to an agent phone carrying this caller
    agent_answered: float | None = None
    unexpected: list[str] = field(default_factory=list)


def journey(
    sip_pcap: Path, rtp_pcap: Path, citizen_port: int, agent_port: int, media_port: int, callers: set[str]
) -> dict[str, Any]:
    """Per citizen call (keyed by Call-ID) its time stamps, and the agents' dialogs (for "rung while busy").

    `callers`: this load's citizens (caller_key). An agent INVITE for anyone else is a stray (e.g. a stopped
    callcontrol's originates that an overloaded Asterisk still carries out): it occupies the agent, is counted in
    `stray_agent_invites`, and is not held against this load's system when it rings a busy agent."""
    calls: dict[str, Call] = {}
    by_caller: dict[str, Call] = {}
    agent_dialogs: dict[str, dict[str, list[float]]] = defaultdict(dict)  # agent -> call-id -> [start, end]
    agent_of_call: dict[str, str] = {}
    unexpected: list[str] = []
    for m in sip_messages(sip_pcap):
        if m.sport == citizen_port and m.dport == SIP_PORT:
            if m.method == "INVITE" and not m.has_to_tag and m.call_id not in calls:
                call = Call(m.call_id, caller_key(m.user("from")), m.at)
                calls[m.call_id] = call
                by_caller.setdefault(call.caller, call)
        elif m.sport == SIP_PORT and m.dport == citizen_port:
            call = calls.get(m.call_id)
            if call is None:
                continue
            if m.status and m.cseq_method == "INVITE" and m.status >= 200 and call.final is None:
                call.final = m.status
                if m.status == 200:
                    call.answered = m.at
                    found = re.search(r"m=audio (\d+)", m.body)
                    call.rtp_port = int(found.group(1)) if found else None
            elif m.method and m.method not in ("BYE", "ACK", "INVITE", "UPDATE", "OPTIONS", "NOTIFY", "INFO"):
                call.unexpected.append(m.start)
        elif m.sport == SIP_PORT and m.dport == agent_port:
            if m.method == "INVITE" and not m.has_to_tag:
                agent = m.user("ruri")
                agent_of_call[m.call_id] = agent
                ours = caller_key(m.user("from")) in callers
                agent_dialogs[agent].setdefault(m.call_id, [m.at, float("inf"), ours])
                call = by_caller.get(caller_key(m.user("from")))
                if call and call.agent_invite is None:
                    call.agent_invite = m.at
            elif m.method in ("BYE", "CANCEL"):
                _end(agent_dialogs, agent_of_call, m)
        elif m.sport == agent_port and m.dport == SIP_PORT:
            if m.method == "BYE" or (m.status and m.status >= 300 and m.cseq_method == "INVITE"):
                _end(agent_dialogs, agent_of_call, m)
            elif m.status == 200 and m.cseq_method == "INVITE":
                agent = agent_of_call.get(m.call_id)
                caller = caller_key(m.user("from"))
                call = by_caller.get(caller)
                if agent and call and call.agent_answered is None:
                    call.agent_answered = m.at
    _media(calls, rtp_pcap, media_port)
    busy: list[str] = []
    for agent, dialogs in agent_dialogs.items():
        spans = sorted(dialogs.values())
        for i, (start, _stop, ours) in enumerate(spans):
            if ours and any(s < start < e for s, e, _ in spans[:i]):
                busy.append(agent)
    strays = sum(1 for d in agent_dialogs.values() for span in d.values() if not span[2])
    return {"calls": list(calls.values()), "agents_rung_while_busy": len(busy), "busy_rung": busy,
            "agents_rung": len(agent_dialogs), "agent_invites": sum(len(d) for d in agent_dialogs.values()),
            "stray_agent_invites": strays, "unexpected": unexpected}  # fmt: skip


def _end(dialogs: dict[str, dict[str, list[float]]], agent_of: dict[str, str], m: Sip) -> None:
    agent = agent_of.get(m.call_id)
    if agent and m.call_id in dialogs[agent]:
        span = dialogs[agent][m.call_id]
        span[1] = min(span[1], m.at)


def _media(calls: dict[str, Call], rtp_pcap: Path, media_port: int) -> None:
    """First prompt packet to each citizen and its first digit packet, by Asterisk's RTP port of that call (a port
    may serve several calls of a phase one after the other: a packet belongs to the last call answered on it)."""
    per_port: dict[int, list[Call]] = defaultdict(list)
    for call in sorted(calls.values(), key=lambda c: c.answered or 0):
        if call.rtp_port and call.answered:
            per_port[call.rtp_port].append(call)

    def owner(port: int, at: float) -> Call | None:
        found = None
        for call in per_port.get(port, ()):
            if call.answered is not None and call.answered <= at:
                found = call
            else:
                break
        return found

    for at, sport, dport, payload in udp_packets(rtp_pcap):
        if len(payload) < 12 or payload[0] >> 6 != 2:
            continue
        pt = payload[1] & 0x7F
        if dport == media_port:
            call = owner(sport, at)
            if call and call.prompt is None and pt != 101:
                call.prompt = at
        elif sport == media_port:
            call = owner(dport, at)
            if call and pt == 101:
                if call.digit is None:
                    call.digit = at
                if call.digit_end is None and len(payload) >= 14 and payload[13] & 0x80:
                    call.digit_end = at
