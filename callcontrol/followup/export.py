"""The journal exported as CSV or JSON lines (the city's own analyses, a spreadsheet)."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterable, Iterator
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from callcontrol.state.models import JournalEntry

COLUMNS = (
    "call_id", "kind", "started", "duration", "caller", "caller_hash", "dialled", "hotline", "result", "outcome",
    "abandoned_after", "queue_entered", "queue_left", "queue_wait", "offered", "answered_by", "talk_time",
    "device", "voicemail", "path",
)


def jsonl(entries: Iterable[JournalEntry]) -> Iterator[str]:
    """One JSON object per line, as journaled."""
    for entry in entries:
        yield json.dumps(entry.data, ensure_ascii=False, default=str) + "\n"


def csv_lines(entries: Iterable[JournalEntry], zone: ZoneInfo) -> Iterator[str]:
    """A header, then one row per call; lists and the path as compact text, times in the city's zone."""
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(COLUMNS)
    yield _take(buffer)
    for entry in entries:
        writer.writerow([_cell(name, entry.data, zone) for name in COLUMNS])
        yield _take(buffer)


def _take(buffer: io.StringIO) -> str:
    text = buffer.getvalue()
    buffer.seek(0)
    buffer.truncate()
    return text


def _cell(name: str, data: dict[str, Any], zone: ZoneInfo) -> str:
    if name == "started":
        at = data.get("started_at")
        return datetime.fromtimestamp(float(at), zone).isoformat(timespec="seconds") if at else ""
    value = data.get(name)
    if name == "path" and isinstance(value, list):
        return " > ".join(str(step.get("step", "")) for step in value)
    if name == "voicemail" and isinstance(value, dict):
        return f"{value.get('name', '')} ({value.get('duration', '')} s)"
    if isinstance(value, list):
        return " ".join(str(v) for v in value)
    return "" if value is None else str(value)
