"""Structured logs: one JSON object per line, `call_id` bound per call task, citizen numbers masked.

Per-call context uses structlog.contextvars: a call's task binds call_id/channel once and every line logged
from that task (and the tasks it starts) carries them.
"""

from __future__ import annotations

import logging
import re
import sys
from collections.abc import MutableMapping
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


_ASTERISK_ID = re.compile(r"^\d{9,11}\.\d{1,9}$")  # channel/bridge unique ids: epoch.sequence
_IPV4 = re.compile(r"^\d{1,3}(?:\.\d{1,3}){3}$")  # which host failed matters to ops; it is no phone number


def _mask_text(text: str) -> str:
    def replace(match: re.Match[str]) -> str:
        found = match.group(0)
        return found if _ASTERISK_ID.match(found) or _IPV4.match(found) else numbers.mask(found)

    return _DIGIT_RUN.sub(replace, text)


def mask_numbers(_logger: Any, _method: str, event_dict: MutableMapping[str, Any]) -> MutableMapping[str, Any]:
    """structlog processor: no full citizen number ever reaches a log line."""
    for key, value in list(event_dict.items()):
        if key in NUMBER_FIELDS and isinstance(value, str):
            event_dict[key] = numbers.mask(value)
        elif key in DIALLED_FIELDS and isinstance(value, str) and numbers.normalise(value) is not None:
            event_dict[key] = numbers.mask(value)
        elif key in TEXT_FIELDS and isinstance(value, str):
            event_dict[key] = _mask_text(value)
    return event_dict


def configure(fmt: str = "json", level: str = "info", stream: TextIO | None = None) -> None:
    """Set up structlog once, from the composition root."""
    renderer: Any = (
        structlog.processors.JSONRenderer(ensure_ascii=False)
        if fmt == "json"
        else structlog.dev.ConsoleRenderer(colors=False)
    )
    structlog.configure(
        processors=[
            structlog.contextvars.merge_contextvars,
            structlog.processors.add_log_level,
            structlog.processors.TimeStamper(fmt="iso", utc=True),
            structlog.processors.format_exc_info,
            mask_numbers,
            renderer,
        ],
        wrapper_class=structlog.make_filtering_bound_logger(logging.getLevelNamesMapping()[level.upper()]),
        logger_factory=structlog.PrintLoggerFactory(file=stream or sys.stdout),
        cache_logger_on_first_use=False,
    )
