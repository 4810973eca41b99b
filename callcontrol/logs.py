"""Structured logs: one JSON object per line, `call_id` bound per call task, citizen numbers masked.

Per-call context uses structlog.contextvars: a call's task binds call_id/channel once and every line logged
from that task (and the tasks it starts) carries them.
"""

from __future__ import annotations

import logging
import re
import sys
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


def configure(fmt: str = "json", level: str = "info", stream: TextIO | None = None, *, cache: bool = False) -> None:
    """Set up structlog once, from the composition root. `cache`: each module's logger is built once, at its first
    use after this call, instead of at every line (the service: it configures once; tests configure per test)."""
    renderer: Any = (
        structlog.processors.JSONRenderer(ensure_ascii=False)
        if fmt == "json"
        else structlog.dev.ConsoleRenderer(colors=False)
    )
    structlog.configure(
        processors=[
            structlog.contextvars.merge_contextvars,
            structlog.processors.add_log_level,
            iso_utc_stamper(),  # = structlog.processors.TimeStamper(fmt="iso", utc=True), cheaper
            structlog.processors.format_exc_info,
            mask_numbers,
            renderer,
        ],
        wrapper_class=structlog.make_filtering_bound_logger(logging.getLevelNamesMapping()[level.upper()]),
        logger_factory=structlog.PrintLoggerFactory(file=stream or sys.stdout),
        cache_logger_on_first_use=cache,
    )
