"""SIPp citizens, agents' phones and the carrier, as subprocesses for the integration tests.

Each SIPp process runs one scenario of tests/sipp/ bound to 127.0.0.1 (SIP, control socket on a free port), writes
every SIP message it sent and received to a trace file (-trace_msg) and unexpected events to another (-trace_err),
and is stopped by PID with SIGKILL (SIPp waits for its calls on SIGTERM).

Media: SIPp does not count the RTP it receives, so the SDP that SIPp sends names the port of a UDP socket owned by
this module (RtpPeer): it counts the packets Asterisk sends there (proof that the person *heard* something) and
sends from the same socket, like a phone, PCMA silence every 20 ms and RFC 4733 DTMF events, so that Asterisk's
symmetric/strict RTP sees one source. The scenarios append "answered CALL_NUMBER m=audio PORT" to a control file
once a call is up (and "ended CALL_NUMBER" after); the peer then streams to that port. (SIPp's play_pcap_audio of
dtmf_2833_*.pcap would send from SIPp's own media port, another source than the SDP port: with symmetric and strict
RTP, Asterisk then latches on to one source and drops or misroutes the other.)

Scenario files are copied into the run directory before use; attributes that SIPp cannot take from -key (recv
timeouts) are rewritten there: timeout="..." ontimeout="answer" (ring time) and ontimeout="hangup" (talk time).
"""

from __future__ import annotations

import ctypes
import itertools
import os
import random
import re
import select
import shutil
import signal
import socket
import struct
import subprocess
import threading
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Literal

LOOPBACK = "127.0.0.1"
ASTERISK_SIP_PORT = 5060
CARRIER_PORT = 5080
SCENARIOS = Path(__file__).resolve().parents[1] / "sipp"
SIPP = shutil.which("sipp") or "/usr/bin/sipp"
FOREVER_MS = 86_400_000
DTMF_EVENTS = {**{str(d): d for d in range(10)}, "*": 10, "#": 11, "A": 12, "B": 13, "C": 14, "D": 15}
DTMF_PAYLOAD_TYPE = 101  # what our SDP and Asterisk's both announce for telephone-event/8000

PhoneMode = Literal["answer", "ring", "busy", "progress"]  # progress: 183 + SDP, no RTP, never answers
# DTMF plans: (pause in seconds before the digit, digit), counted from the answer / the previous digit.
DtmfPlan = Sequence[tuple[float, str]]


def free_udp_port() -> int:
    """A UDP port free on 127.0.0.1 right now (the kernel's pick)."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.bind((LOOPBACK, 0))
        return s.getsockname()[1]


def _media_ports() -> range:
    """Above the kernel's ephemeral range (32768-60999 by default) and above Asterisk's RTP range (10000-31999,
    asterisk-conf/rtp.conf). The range once was 10000-19999, inside Asterisk's RTP ports since they were widened:
    a SIPp could then fail to bind a port Asterisk had just taken for a call ("Unable to bind audio RTP socket")."""
    try:
        top = int(Path("/proc/sys/net/ipv4/ip_local_port_range").read_text().split()[1])
    except (OSError, IndexError, ValueError):
        top = 60999
    return range(max(top, 31999) + 1, 65532, 4)


MEDIA_PORTS = _media_ports()


def free_media_ports() -> int:
    """A base port for SIPp's media: it binds base (audio), base+1 and base+2 (video), base+3. Taken from a range
    neither the kernel nor Asterisk hands out, so none of the four can collide with a socket bound to port 0 (our
    RTP helpers, -cp control ports) or with a call's RTP, and each checked free right now."""
    for base in random.sample(MEDIA_PORTS, min(50, len(MEDIA_PORTS))):
        if not any(udp_port_bound(base + i) for i in range(4)):
            return base
    raise SippError(f"no 4 consecutive free UDP ports in {MEDIA_PORTS.start}-{MEDIA_PORTS.stop} for SIPp's media")


def udp_port_bound(port: int, host: str = LOOPBACK) -> bool:
    """Whether something holds host:port/udp (read from /proc/net/udp)."""
    want = {f"{_hex_ip(host)}:{port:04X}", f"00000000:{port:04X}"}
    for line in Path("/proc/net/udp").read_text().splitlines()[1:]:
        if line.split()[1] in want:
            return True
    return False


def _hex_ip(ip: str) -> str:
    return "".join(f"{int(b):02X}" for b in reversed(ip.split(".")))


def dtmf_plan(digits: str, first_pause: float = 1.0, between: float = 0.3) -> list[tuple[float, str]]:
    """A plan for DtmfPlan arguments: `digits` typed one by one, the first after `first_pause` seconds."""
    return [(first_pause if i == 0 else between, d) for i, d in enumerate(digits)]


# ------------------------------------------------------------------------------------------------ SIP trace parsing

_COMPACT = {"f": "from", "t": "to", "m": "contact", "i": "call-id", "v": "via", "l": "content-length"}
_BLOCK_START = re.compile(r"^-{20,} (\S+ \S+)\s*$", re.M)
_DIRECTION = re.compile(r"^\w+ message (sent|received)")


@dataclass(frozen=True)
class SipMessage:
    """One SIP message from a SIPp -trace_msg file, as sent or received by that SIPp process."""

    direction: Literal["sent", "received"]
    timestamp: str
    start_line: str
    headers: tuple[tuple[str, str], ...]
    body: str

    @property
    def method(self) -> str | None:
        """INVITE, BYE, ... for a request; None for a response."""
        return None if self.start_line.startswith("SIP/2.0") else self.start_line.split(" ", 1)[0]

    @property
    def status(self) -> int | None:
        """200, 486, ... for a response; None for a request."""
        return int(self.start_line.split()[1]) if self.start_line.startswith("SIP/2.0") else None

    @property
    def request_uri(self) -> str | None:
        return None if self.method is None else self.start_line.split()[1]

    def header(self, name: str) -> str | None:
        """The first header of that name (case-insensitive, compact forms understood), or None."""
        values = self.all_headers(name)
        return values[0] if values else None

    def all_headers(self, name: str) -> list[str]:
        name = name.lower()
        return [v for k, v in self.headers if _COMPACT.get(k.lower(), k.lower()) == name]

    @property
    def from_(self) -> str | None:
        return self.header("From")

    @property
    def to(self) -> str | None:
        return self.header("To")

    @property
    def pai(self) -> str | None:
        return self.header("P-Asserted-Identity")

    @property
    def contact(self) -> str | None:
        return self.header("Contact")

    @property
    def call_id(self) -> str | None:
        return self.header("Call-ID")

    @property
    def cseq_method(self) -> str | None:
        cseq = self.header("CSeq")
        return cseq.split()[-1] if cseq else None

    @property
    def at(self) -> float:
        """When SIPp logged it, as wall-clock seconds (time.time()); SIPp writes local time."""
        return datetime.strptime(self.timestamp, "%Y-%m-%d %H:%M:%S.%f").timestamp()

    @property
    def text(self) -> str:
        """The whole message as text (to search for a number anywhere in it)."""
        return "\n".join([self.start_line, *(f"{k}: {v}" for k, v in self.headers), "", self.body])

    def __str__(self) -> str:
        return f"{self.direction} {self.start_line}"


def parse_trace(path: Path) -> list[SipMessage]:
    """Parse a SIPp -trace_msg file: the messages in order, each marked sent or received."""
    try:
        text = path.read_text(errors="replace")
    except FileNotFoundError:
        return []
    messages = []
    starts = list(_BLOCK_START.finditer(text))
    for i, m in enumerate(starts):
        block = text[m.end() : starts[i + 1].start() if i + 1 < len(starts) else len(text)]
        lines = block.strip("\n").split("\n")
        direction = _DIRECTION.match(lines[0]) if lines else None
        if not direction:
            continue
        raw = [line.rstrip("\r") for line in lines[1:]]
        while raw and not raw[0].strip():
            raw.pop(0)
        if not raw:
            continue
        try:
            blank = raw.index("")
        except ValueError:
            blank = len(raw)
        headers = []
        for line in raw[1:blank]:
            if line[:1] in (" ", "\t") and headers:  # folded continuation line
                headers[-1] = (headers[-1][0], headers[-1][1] + " " + line.strip())
            elif ":" in line:
                name, value = line.split(":", 1)
                headers.append((name.strip(), value.strip()))
        body = "\n".join(raw[blank + 1 :]).strip("\n")
        messages.append(SipMessage(direction.group(1), m.group(1), raw[0].strip(), tuple(headers), body))  # type: ignore[arg-type]
    return messages


# ------------------------------------------------------------------------------------------------ media


@dataclass
class RtpStats:
    packets: int = 0  # every RTP packet received
    audio_packets: int = 0  # those that are not telephone-event
    dtmf_packets: int = 0
    sources: set[tuple[str, int]] = field(default_factory=set)
    first_at: float | None = None  # time.monotonic() of the first packet
    last_at: float | None = None
    # Wall-clock times (time.time(), comparable with SipMessage.at) of every audio packet, and of those that carry
    # sound (a payload that is not one byte repeated, i.e. not encoded digital silence), to find silences.
    audio_times: list[float] = field(default_factory=list, repr=False)
    sound_times: list[float] = field(default_factory=list, repr=False)

    def longest_gap(self, start: float, end: float, *, sound: bool = False) -> tuple[float, float]:
        """The longest stretch of [start, end] (wall clock) without an audio packet (`sound`: without a packet
        carrying sound): (seconds, when it began)."""
        times = [start, *(t for t in (self.sound_times if sound else self.audio_times) if start <= t <= end), end]
        return max((b - a, a) for a, b in itertools.pairwise(times))


class _Stream:
    """RTP towards one call's remote port: a 20 ms tick carries either audio or a piece of a DTMF event."""

    def __init__(self, call: int, port: int, start: float) -> None:
        self.call, self.port = call, port
        self.ssrc = random.randint(0, 0xFFFFFFFF)
        self.seq = random.randint(0, 0xFFFF)
        self.ts0 = random.randint(0, 0xFFFFFFFF)
        self.tick = 0
        self.next_at = start
        self.digits: list[tuple[float, str]] = []  # (when, digit), sorted
        self.event: tuple[str, int, int] | None = None  # (digit, rtp timestamp, ticks sent)
        self.ended = False
        self.speech: tuple[float, bytes] | None = None  # (when, PCMA bytes): sent once instead of silence

    def packet(self, marker: bool, payload_type: int, timestamp: int, payload: bytes) -> bytes:
        header = struct.pack("!BBHII", 0x80, (0x80 if marker else 0) | payload_type, self.seq, timestamp, self.ssrc)
        self.seq = (self.seq + 1) & 0xFFFF
        return header + payload


class RtpPeer:
    """The media side of one SIPp process: a UDP socket on the SDP port, counting RTP in, sending RTP out.

    A thread polls the socket and the scenario's control file. On each "answered N m=audio PORT" line it starts a
    stream towards 127.0.0.1:PORT (Asterisk's RTP port for that call): PCMA silence every 20 ms like a real phone
    (`send_audio`; the far end of a bridge can then count it) and the `dtmf_after_answer` plan as RFC 4733 events
    (160 ms each, payload type 101). "ended N" stops the stream.
    """

    DTMF_TICKS = 8  # 8 x 20 ms = 160 ms per digit

    def __init__(
        self, ctl: Path, dtmf_after_answer: DtmfPlan = (), send_audio: bool = True,
        speech: tuple[float, bytes] | None = None,
    ) -> None:
        self.speech = speech  # (seconds after the answer, 8 kHz A-law bytes): a person speaking, once
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.bind((LOOPBACK, 0))
        self.port: int = self.sock.getsockname()[1]
        self.ctl = ctl
        self.dtmf_after_answer = list(dtmf_after_answer)
        self.send_audio = send_audio
        self.stats = RtpStats()
        self.answered: list[tuple[int, int]] = []  # (SIPp call number, Asterisk's RTP port), in answer order
        self.registered: bool | None = None  # from register.xml: True "registered", False "refused"
        self.dtmf_sent: list[tuple[float, str, int]] = []  # (monotonic time the event started, digit, port)
        self._streams: dict[int, _Stream] = {}
        self._lock = threading.Lock()
        self._ctl_offset = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name=f"rtp-{self.port}", daemon=True)
        self._thread.start()

    def close(self) -> None:
        self._stop.set()
        self._thread.join(timeout=2)
        self.sock.close()

    def send_dtmf(self, digits: str, *, call: int | None = None, pause: float = 0.3) -> None:
        """Queue digits on an answered call (default: the last answered), `pause` s apart, the first right away."""
        with self._lock:
            if not self._streams:
                raise SippError("send_dtmf: no answered call yet")
            stream = self._streams[call] if call is not None else list(self._streams.values())[-1]
            now = time.monotonic()
            stream.digits += [(now + i * pause, d) for i, d in enumerate(digits)]
            stream.digits.sort()

    # -- thread
    def _run(self) -> None:
        while not self._stop.is_set():
            ready, _, _ = select.select([self.sock], [], [], 0.005)
            if ready:
                self._receive()
            self._read_ctl()
            self._tick()

    def _receive(self) -> None:
        while True:
            try:
                data, addr = self.sock.recvfrom(4096, socket.MSG_DONTWAIT)
            except BlockingIOError:
                return
            if len(data) < 12 or data[0] >> 6 != 2:
                continue
            now = time.monotonic()
            with self._lock:
                st = self.stats
                st.packets += 1
                if data[1] & 0x7F == DTMF_PAYLOAD_TYPE:
                    st.dtmf_packets += 1
                else:
                    st.audio_packets += 1
                    st.audio_times.append(time.time())
                    if len(set(data[12:])) > 1:
                        st.sound_times.append(st.audio_times[-1])
                st.sources.add(addr)
                st.first_at = st.first_at or now
                st.last_at = now

    def _read_ctl(self) -> None:
        try:
            with self.ctl.open("rb") as f:
                f.seek(self._ctl_offset)
                chunk = f.read()
        except FileNotFoundError:
            return
        complete = chunk[: chunk.rfind(b"\n") + 1]
        self._ctl_offset += len(complete)
        for line in complete.decode(errors="replace").split("\n"):
            words = line.split()
            if words[:1] == ["registered"]:
                self.registered = True
            elif words[:1] == ["refused"]:
                self.registered = False
            elif words[:1] == ["answered"] and len(words) >= 4:
                call, port, now = int(words[1]), int(words[-1]), time.monotonic()
                stream = _Stream(call, port, now)
                if self.speech:
                    stream.speech = (now + self.speech[0], self.speech[1])
                when = now
                for pause, digit in self.dtmf_after_answer:
                    when += pause
                    stream.digits.append((when, digit))
                with self._lock:
                    self.answered.append((call, port))
                    self._streams[call] = stream
            elif words[:1] == ["ended"] and len(words) >= 2:
                with self._lock:
                    stream = self._streams.pop(int(words[1]), None)
                if stream:
                    stream.ended = True

    def _tick(self) -> None:
        now = time.monotonic()
        with self._lock:
            streams = list(self._streams.values())
        for s in streams:
            while s.next_at <= now and not s.ended:
                for packet in self._next_packets(s, now):
                    self.sock.sendto(packet, (LOOPBACK, s.port))
                s.tick += 1
                s.next_at += 0.020
                if now - s.next_at > 0.2:  # fell behind (e.g. paused process): skip ahead, do not burst
                    s.next_at = now

    def _next_packets(self, s: _Stream, now: float) -> list[bytes]:
        ts = (s.ts0 + 160 * s.tick) & 0xFFFFFFFF
        with self._lock:
            if s.event is None and s.digits and s.digits[0][0] <= now:
                _, digit = s.digits.pop(0)
                s.event = (digit, ts, 0)
                self.dtmf_sent.append((now, digit, s.port))
        if s.event is None:
            if s.speech and s.speech[0] <= now:
                when, audio = s.speech
                offset = int((now - when) / 0.020) * 160
                if offset < len(audio):
                    return [s.packet(False, 8, ts, audio[offset:offset + 160].ljust(160, b"\xd5"))]
            return [s.packet(False, 8, ts, b"\xd5" * 160)] if self.send_audio else []
        digit, event_ts, sent = s.event
        code = DTMF_EVENTS[digit.upper()]
        duration = 160 * min(sent + 1, self.DTMF_TICKS)
        if sent + 1 < self.DTMF_TICKS:
            s.event = (digit, event_ts, sent + 1)
            payload = struct.pack("!BBH", code, 10, duration)
            return [s.packet(sent == 0, DTMF_PAYLOAD_TYPE, event_ts, payload)]
        s.event = None  # the end packet, three times (RFC 4733 2.5.1.4)
        payload = struct.pack("!BBH", code, 0x80 | 10, duration)
        return [s.packet(False, DTMF_PAYLOAD_TYPE, event_ts, payload) for _ in range(3)]


# ------------------------------------------------------------------------------------------------ SIPp processes


class SippError(AssertionError):
    """A SIPp process could not start or did not reach the expected state (with its traces in the message)."""


class SippProcess:
    """One SIPp subprocess and its traces; see citizen_call(), agent_phone(), carrier_phone()."""

    def __init__(
        self,
        name: str,
        workdir: Path,
        scenario: str,
        *,
        keys: dict[str, str],
        timeouts: dict[str, int] | None = None,
        extra: Sequence[str] = (),
        port: int | None = None,
        ooc_scenario: str | None = None,
        stay: bool = False,
        dtmf_after_answer: DtmfPlan = (),
        send_audio: bool = True,
        remote: tuple[str, int] = (LOOPBACK, ASTERISK_SIP_PORT),
        speech: tuple[float, bytes] | None = None,
    ) -> None:
        self.name = name
        self.dir = workdir / name
        self.dir.mkdir(parents=True, exist_ok=True)
        self.port = port or free_udp_port()
        self.ctl = self.dir / "ctl"
        self.ctl.write_text("")
        self.message_file = self.dir / "messages.log"
        self.error_file = self.dir / "errors.log"
        self.output_file = self.dir / "sipp.out"
        self.rtp = RtpPeer(self.ctl, dtmf_after_answer, send_audio, speech)
        scenario_path = self._render(scenario, timeouts or {}, stay)
        keys = {**keys, "rtp_port": str(self.rtp.port), "ctl": str(self.ctl)}
        self.argv = [
            SIPP, f"{remote[0]}:{remote[1]}", "-sf", str(scenario_path),
            "-i", LOOPBACK, "-p", str(self.port),
            "-ci", LOOPBACK, "-cp", str(free_udp_port()),
            "-mi", LOOPBACK, "-mp", str(free_media_ports()),
            "-trace_msg", "-message_file", str(self.message_file),
            "-trace_err", "-error_file", str(self.error_file),
            "-nostdin",
            *extra,
        ]  # fmt: skip
        if ooc_scenario:
            self.argv += ["-oocsf", str(self._render(ooc_scenario, timeouts or {}, False))]
        for k, v in keys.items():
            self.argv += ["-key", k, v]
        self.proc: subprocess.Popen[bytes] | None = None

    def _render(self, scenario: str, timeouts: dict[str, int], stay: bool) -> Path:
        text = (SCENARIOS / scenario).read_text()
        for label, ms in timeouts.items():
            text = re.sub(rf'timeout="\d+" ontimeout="{label}"', f'timeout="{int(ms)}" ontimeout="{label}"', text)
        if stay:
            text = text.replace("<!-- stay -->", f'<pause milliseconds="{FOREVER_MS}"/>')
        path = self.dir / scenario
        path.write_text(text)
        return path

    # -- life cycle
    def start(self) -> SippProcess:
        with self.output_file.open("wb") as out:
            self.proc = subprocess.Popen(
                self.argv, cwd=self.dir, stdin=subprocess.DEVNULL, stdout=out, stderr=subprocess.STDOUT,
                env={**os.environ, "TERM": "dumb"}, preexec_fn=_die_with_parent,
            )  # fmt: skip
        (self.dir / "command").write_text(" ".join(self.argv) + "\n")
        return self

    @property
    def pid(self) -> int | None:
        return self.proc.pid if self.proc else None

    @property
    def running(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def wait_bound(self, timeout: float = 3.0) -> None:
        """Wait until SIPp holds its SIP port (a UAS must listen before Asterisk sends it anything)."""
        self.wait_until(lambda: udp_port_bound(self.port), timeout, f"SIPp bound to {LOOPBACK}:{self.port}")

    def wait(self, timeout: float) -> int:
        """Wait for SIPp to exit on its own; its exit code (0: every call succeeded)."""
        assert self.proc
        try:
            return self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            raise SippError(f"{self.name}: still running after {timeout} s\n{self.describe()}") from None

    def stop(self) -> None:
        """SIGKILL by PID (SIPp would wait for its calls on SIGTERM), then close the media socket."""
        if self.proc and self.proc.poll() is None:
            os.kill(self.proc.pid, signal.SIGKILL)
            self.proc.wait(5)
        self.rtp.close()

    def wait_until(self, predicate: Callable[[], object], timeout: float, what: str) -> None:
        deadline = time.monotonic() + timeout
        exited_at = None
        while not predicate():
            if exited_at is None and self.proc and self.proc.poll() is not None:
                exited_at = time.monotonic()  # a last ctl line may still come from a forked `echo`
            if exited_at is not None and time.monotonic() - exited_at > 0.3:
                raise SippError(f"{self.name}: SIPp exited ({self.proc.returncode}) before: {what}\n{self.describe()}")
            if time.monotonic() > deadline:
                raise SippError(f"{self.name}: not within {timeout} s: {what}\n{self.describe()}")
            time.sleep(0.01)

    # -- what the peer saw
    def messages(self) -> list[SipMessage]:
        return parse_trace(self.message_file)

    def received(self, method_or_status: str | int | None = None) -> list[SipMessage]:
        """Messages this peer received, optionally only requests of a method or responses of a status."""
        out = [m for m in self.messages() if m.direction == "received"]
        if isinstance(method_or_status, int):
            out = [m for m in out if m.status == method_or_status]
        elif method_or_status:
            out = [m for m in out if m.method == method_or_status]
        return out

    def sent(self) -> list[SipMessage]:
        return [m for m in self.messages() if m.direction == "sent"]

    def final_response(self, method: str = "INVITE") -> int | None:
        """Status of the last final (>= 200) response received to `method` (UAC side), or None."""
        finals = [m.status for m in self.received() if m.status and m.status >= 200 and m.cseq_method == method]
        return finals[-1] if finals else None

    def send_dtmf(self, digits: str, *, call: int | None = None, pause: float = 0.3) -> None:
        """Type digits now on an answered call (default: the last one answered), as RFC 4733 events."""
        self.rtp.send_dtmf(digits, call=call, pause=pause)

    @property
    def rtp_stats(self) -> RtpStats:
        return self.rtp.stats

    @property
    def audio_received(self) -> int:
        """RTP audio packets (not DTMF) that reached this peer's SDP port."""
        return self.rtp.stats.audio_packets

    @property
    def answered(self) -> list[tuple[int, int]]:
        return list(self.rtp.answered)

    def errors(self) -> str:
        return self.error_file.read_text(errors="replace") if self.error_file.exists() else ""

    def describe(self) -> str:
        """A short dump for assertion messages: messages seen, RTP counts, SIPp errors and output."""
        lines = [f"[{self.name}] pid {self.pid} port {self.port} rtp {self.rtp.port} dir {self.dir}"]
        lines += [f"  {m.timestamp} {m.direction:8} {m.start_line}" for m in self.messages()]
        lines.append(f"  rtp: {self.rtp.stats}")
        errors = self.errors().strip()
        if errors:
            lines.append("  errors: " + errors[-1500:].replace("\n", "\n    "))
        if self.output_file.exists():
            lines.append("  output: " + self.output_file.read_text(errors="replace")[-800:].replace("\n", "\n    "))
        return "\n".join(lines)


def _die_with_parent() -> None:
    """In the child before exec: SIGKILL when the test process dies (a crashed run leaves no SIPp on 5080)."""
    ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG


# ------------------------------------------------------------------------------------------------ the people


def citizen_call(
    workdir: Path,
    caller: str = "0612345678",
    called: str = "0556000000",
    *,
    dtmf: DtmfPlan = (),
    hangup_after: float = 30.0,
    send_audio: bool = True,
    name: str | None = None,
    speech: tuple[float, bytes] | None = None,
) -> SippProcess:
    """Start a citizen's call (tests/sipp/citizen_uac.xml): INVITE sip:CALLED@127.0.0.1:5060 from CALLER.

    `speech` = (seconds after the answer, 8 kHz A-law bytes): the citizen says that once, e.g. a message.
    Sends the `dtmf` plan once answered, accepts re-INVITE/UPDATE, answers Asterisk's BYE or hangs up itself
    `hangup_after` seconds after the answer. Returns at once: `wait(timeout)` for the end of the call.
    """
    sipp = SippProcess(
        name or f"citizen-{caller}",
        workdir,
        "citizen_uac.xml",
        keys={"caller": caller, "called": called},
        timeouts={"hangup": int(hangup_after * 1000)},
        # -aa: 200 to INFO/NOTIFY/OPTIONS; no BYE of SIPp's own after a refused INVITE (the exit code is 1).
        extra=["-m", "1", "-aa", "-default_behaviors", "all,-bye"],
        dtmf_after_answer=dtmf,
        send_audio=send_audio,
        speech=speech,
    )
    return sipp.start()


def softphone_call(
    workdir: Path,
    user: str,
    called: str,
    password: str | None = None,
    *,
    hangup_after: float = 30.0,
    dtmf: DtmfPlan = (),
    send_audio: bool = True,
    name: str | None = None,
) -> SippProcess:
    """An agent's softphone `user` dialling `called` (tests/sipp/softphone_uac.xml): INVITE, Asterisk's digest
    challenge answered with -au/-ap, then like citizen_call (RTP both ways once answered, BYE after
    `hangup_after` s unless the other side hangs up first). Returns at once: `wait(timeout)` for the end."""
    password = password if password is not None else os.environ.get("CALLCONTROL_AGENT_SIP_PASSWORD", "agent-demo")
    sipp = SippProcess(
        name or _unique(f"softphone-{user}-{called}"),
        workdir,
        "softphone_uac.xml",
        keys={"caller": user, "called": called},
        timeouts={"hangup": int(hangup_after * 1000)},
        extra=["-m", "1", "-aa", "-default_behaviors", "all,-bye", "-au", user, "-ap", password],
        dtmf_after_answer=dtmf,
        send_audio=send_audio,
    )
    return sipp.start()


def agent_phone(
    workdir: Path,
    user: str,
    password: str | None = None,
    *,
    mode: PhoneMode = "answer",
    answer_after: float = 1.0,
    hangup_after: float = 3600.0,
    dtmf_after_answer: DtmfPlan = (),
    send_audio: bool = True,
    name: str | None = None,
) -> SippProcess:
    """An agent's softphone: REGISTERs as `user` (digest auth) and returns once Asterisk accepted it (200).

    Then, on the same port, rings and answers after `answer_after` s (mode "answer"), rings until cancelled
    ("ring") or refuses with 486 ("busy"); sends `dtmf_after_answer`; hangs up after `hangup_after` s.
    """
    password = password if password is not None else os.environ.get("CALLCONTROL_AGENT_SIP_PASSWORD", "agent-demo")
    port = free_udp_port()
    sipp = SippProcess(
        name or f"agent-{user}",
        workdir,
        "register.xml",
        keys={"user": user, "contact": f"<sip:{user}@{LOOPBACK}:{port}>", "expires": "3600"},
        timeouts=_phone_timeouts(mode, answer_after, hangup_after),
        extra=["-m", "1", "-aa", "-au", user, "-ap", password],
        port=port,
        ooc_scenario="phone_busy_uas.xml" if mode == "busy" else "phone_uas.xml",
        stay=True,
        dtmf_after_answer=dtmf_after_answer,
        send_audio=send_audio,
    )
    sipp.start()
    sipp.wait_until(lambda: sipp.rtp.registered is not None, 5.0, f"REGISTER {user} answered")
    if not sipp.rtp.registered:
        sipp.stop()
        raise SippError(f"{sipp.name}: Asterisk refused the REGISTER of {user}\n{sipp.describe()}")
    return sipp


def carrier_phone(
    workdir: Path,
    *,
    mode: PhoneMode = "answer",
    answer_after: float = 0.5,
    hangup_after: float = 3600.0,
    dtmf_after_answer: DtmfPlan = (),
    send_audio: bool = True,
    port: int = CARRIER_PORT,
    name: str = "carrier",
) -> SippProcess:
    """The carrier's side of outgoing calls (mobiles, on-call phone): a UAS on 127.0.0.1:5080, no registration.

    Answers every INVITE after `answer_after` s (or rings / busy / "progress": 183 with SDP, no ringing, no RTP,
    never answers, like a mobile network paging a phone), then sends `dtmf_after_answer` (e.g. a mobile
    agent accepting with "1"). Returns once the port is bound (gotcha 10: bind before Asterisk sends).
    """
    if udp_port_bound(port):
        raise SippError(f"{LOOPBACK}:{port}/udp is already taken: another carrier UAS (another test run?) holds it")
    sipp = SippProcess(
        name,
        workdir,
        {"busy": "phone_busy_uas.xml", "progress": "phone_progress_uas.xml"}.get(mode, "phone_uas.xml"),
        keys={"user": "carrier"},
        timeouts=_phone_timeouts(mode, answer_after, hangup_after),
        extra=["-aa"],
        port=port,
        dtmf_after_answer=dtmf_after_answer,
        send_audio=send_audio,
    )
    sipp.start()
    sipp.wait_bound()
    return sipp


def _phone_timeouts(mode: PhoneMode, answer_after: float, hangup_after: float) -> dict[str, int]:
    ring_ms = FOREVER_MS if mode == "ring" else max(1, int(answer_after * 1000))
    return {"answer": ring_ms, "hangup": int(hangup_after * 1000)}


@dataclass
class Registration:
    registered: bool
    final_status: int | None  # the last final response to REGISTER (200, 401, 403, 404)
    messages: list[SipMessage]


def register(
    workdir: Path, user: str, password: str, *, expires: int = 60, contact: str | None = None, name: str | None = None
) -> Registration:
    """One REGISTER (tests/sipp/register.xml) with digest auth, to completion: did Asterisk accept it?"""
    port = free_udp_port()
    sipp = SippProcess(
        name or _unique(f"register-{user}"),
        workdir,
        "register.xml",
        keys={"user": user, "contact": contact or f"<sip:{user}@{LOOPBACK}:{port}>", "expires": str(expires)},
        extra=["-m", "1", "-au", user, "-ap", password],
        port=port,
    ).start()
    try:
        sipp.wait(10)
    finally:
        sipp.stop()
    # From the trace, written before SIPp exits (the ctl line comes from a forked `echo` that may lag).
    final = sipp.final_response("REGISTER")
    return Registration(final == 200, final, sipp.messages())


def unregister(workdir: Path, user: str, password: str | None = None) -> bool:
    """Remove every registered contact of `user` (REGISTER Contact: * Expires: 0)."""
    password = password if password is not None else os.environ.get("CALLCONTROL_AGENT_SIP_PASSWORD", "agent-demo")
    return register(workdir, user, password, expires=0, contact="*", name=_unique(f"unregister-{user}")).registered


_counter = itertools.count(1)


def _unique(name: str) -> str:
    return f"{name}-{next(_counter)}"


def stop_all(processes: Iterable[SippProcess]) -> None:
    """SIGKILL each process by PID (see SippProcess.stop)."""
    for p in processes:
        p.stop()
