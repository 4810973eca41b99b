"""Structured logs: one JSON object per line, `call_id` bound per call task, citizen numbers masked.

Per-call context uses structlog.contextvars: a call's task binds call_id/channel once and every line logged
from that task (and the tasks it starts) carries them.
"""

from __future__ import annotations

import asyncio
import atexit
import json
import logging
import re
import sys
import threading
import time
from collections.abc import Callable, MutableMapping
from typing import Any, TextIO

import structlog

from callcontrol import numbers

# Fields that carry a phone number: masked whole.
NUMBER_FIELDS = frozenset(
    {"caller", "callee", "number", "citizen", "from_number", "to_number", "caller_id", "mobile", "callback_number"}
)
# What was dialled: an agent may dial a citizen's number (masked), or an extension or feature code (kept as is).
DIALLED_FIELDS = frozenset({"dialled"})
# Free-text fields where a number may hide inside a sentence (exception texts, Asterisk messages).
TEXT_FIELDS = frozenset({"event", "error", "reason", "message", "exception", "detail"})
_DIGIT_RUN = re.compile(r"\+?\d(?:[\d .-]{6,}\d)")
_HEX_ID = re.compile(r"[0-9a-f]{16,}")  # a playback or leg id (uuid4 hex: …/play/4fdb83a5…): no phone number


_ASTERISK_ID = re.compile(r"^\d{9,11}\.\d{1,9}(?:-\d*)?$")  # channel unique ids (epoch.sequence), legs' too (-hex)
_IPV4 = re.compile(r"^\d{1,3}(?:\.\d{1,3}){3}$")  # which host failed matters to ops; it is no phone number


def _mask_text(text: str) -> str:
    ids: list[tuple[int, int]] | None = None  # the hex ids' spans, found once a digit run needs them

    def replace(match: re.Match[str]) -> str:
        nonlocal ids
        found = match.group(0)
        if _ASTERISK_ID.match(found) or _IPV4.match(found):
            return found
        if ids is None:
            ids = [m.span() for m in _HEX_ID.finditer(text)]
        if any(start <= match.start() and match.end() <= end for start, end in ids):
            return found
        return numbers.mask(found)

    return _DIGIT_RUN.sub(replace, text)


_NUMBER, _DIALLED, _TEXT = 1, 2, 3
_RULES = {**dict.fromkeys(NUMBER_FIELDS, _NUMBER), **dict.fromkeys(DIALLED_FIELDS, _DIALLED),
          **dict.fromkeys(TEXT_FIELDS, _TEXT)}
_SHORTEST_RUN = 8  # _DIGIT_RUN matches 8 characters at least: a shorter text holds no number to mask


def mask_numbers(_logger: Any, _method: str, event_dict: MutableMapping[str, Any]) -> MutableMapping[str, Any]:
    """structlog processor: no full citizen number ever reaches a log line. One lookup per field (most fields
    carry no number at all); values are replaced in place (the keys stay, so the iteration is safe)."""
    for key, value in event_dict.items():
        rule = _RULES.get(key)
        if rule is None or not isinstance(value, str):
            continue
        if rule == _NUMBER:
            event_dict[key] = numbers.mask(value)
        elif rule == _DIALLED:
            if numbers.normalise(value) is not None:
                event_dict[key] = numbers.mask(value)
        elif len(value) >= _SHORTEST_RUN:
            event_dict[key] = _mask_text(value)
    return event_dict


def iso_utc_stamper() -> Callable[[Any, str, MutableMapping[str, Any]], MutableMapping[str, Any]]:
    """structlog processor: `timestamp`, exactly as TimeStamper(fmt="iso", utc=True) writes it
    (`2026-12-02T07:41:17.652353Z`, no fraction when it is 0), the date and time formatted once per second."""
    cached_second, prefix = -1, ""

    def stamp(_logger: Any, _method: str, event_dict: MutableMapping[str, Any]) -> MutableMapping[str, Any]:
        nonlocal cached_second, prefix
        second, micro = divmod(time.time_ns() // 1000, 1_000_000)
        if second != cached_second:
            cached_second, prefix = second, time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(second))
        event_dict["timestamp"] = f"{prefix}.{micro:06d}Z" if micro else f"{prefix}Z"
        return event_dict

    return stamp


def configure(
    fmt: str = "json", level: str = "info", stream: TextIO | None = None, *, cache: bool = False, defer: bool = False
) -> LineWriter | None:
    """Set up structlog once, from the composition root. `cache`: each module's logger is built once, at its first
    use after this call, instead of at every line (the service: it configures once; tests configure per test).
    `defer` (the service): lines logged from the event loop are masked, rendered and written once the loop has run
    what was ready (LineWriter); the returned writer's flush() writes what is left when the loop is gone."""
    renderer: Any = (
        structlog.processors.JSONRenderer(ensure_ascii=False)
        if fmt == "json"
        else structlog.dev.ConsoleRenderer(colors=False)
    )
    inline: list[Any] = [
        structlog.contextvars.merge_contextvars,
        structlog.processors.add_log_level,
        iso_utc_stamper(),  # = structlog.processors.TimeStamper(fmt="iso", utc=True), cheaper
        structlog.processors.format_exc_info,  # while the exception is still the current one
    ]
    writer = LineWriter(stream or sys.stdout, [mask_numbers, renderer]) if defer else None
    if writer is not None:
        atexit.register(writer.flush)
    structlog.configure(
        processors=[*inline, _hand_over] if writer else [*inline, mask_numbers, renderer],
        wrapper_class=structlog.make_filtering_bound_logger(logging.getLevelNamesMapping()[level.upper()]),
        logger_factory=(lambda *_args: writer) if writer else structlog.PrintLoggerFactory(file=stream or sys.stdout),
        cache_logger_on_first_use=cache,
    )
    return writer


def _hand_over(_logger: Any, _method: str, event_dict: MutableMapping[str, Any]) -> tuple[tuple[Any, ...], dict]:
    """Last processor of the deferred chain: the event dict itself goes to LineWriter, which renders it later."""
    return (event_dict,), {}


class LineWriter:
    """structlog logger for the service: a line logged from the event loop is masked, rendered and written after
    the loop has run what was ready, all of that batch in one write, in order. A citizen's digit then reaches Redis
    and the agent's phone before the four lines that tell of it are formatted (~60 us each on the digit -> agent
    path). From outside the loop (start, stop, another thread) a line is written at once. The values are rendered
    at the end of the turn: a caller passes what it will not change in the same turn (they all do: fresh lists)."""

    def __init__(self, stream: TextIO, processors: list[Any]):
        self._stream = stream
        self._processors = processors
        self._pending: list[MutableMapping[str, Any]] = []
        self._lock = threading.Lock()

    def msg(self, event_dict: MutableMapping[str, Any]) -> None:
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:  # no loop in this thread: now (what the loop left first, if this is its thread)
            if threading.current_thread() is threading.main_thread():
                self.flush()
            self._write([event_dict])
            return
        if not self._pending:
            loop.call_soon(self.flush)
        self._pending.append(event_dict)

    debug = info = warning = warn = error = critical = exception = fatal = log = msg

    def flush(self) -> None:
        """Write what is pending (also at exit: whatever the loop did not get to)."""
        batch, self._pending = self._pending, []
        if batch:
            self._write(batch)

    def _write(self, batch: list[MutableMapping[str, Any]]) -> None:
        lines = []
        for event_dict in batch:
            event = event_dict.get("event")
            try:
                for processor in self._processors:
                    event_dict = processor(None, "", event_dict)
            except Exception as exc:  # one line that cannot be rendered never takes its batch with it
                event_dict = json.dumps({"event": "log_line_unrenderable", "logged": str(event),
                                         "error": type(exc).__name__, "level": "error"})
            lines.append(f"{event_dict}\n")
        with self._lock:
            self._stream.write("".join(lines))
            self._stream.flush()
