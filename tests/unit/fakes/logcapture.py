"""Capture callcontrol's real log output (callcontrol.logs.configure, JSON renderer) as parsed lines."""

from __future__ import annotations

import io
import json
from typing import Any

import structlog

from callcontrol import logs


class JsonLogs:
    """logs.configure("json") into a buffer; `lines` parses each line; `raw` is the text exactly as ops see it."""

    def __init__(self, level: str = "debug"):
        self.stream = io.StringIO()
        logs.configure("json", level, stream=self.stream)

    @property
    def raw(self) -> str:
        return self.stream.getvalue()

    @property
    def lines(self) -> list[dict[str, Any]]:
        return [json.loads(line) for line in self.raw.splitlines() if line.strip()]

    def events(self, name: str) -> list[dict[str, Any]]:
        return [line for line in self.lines if line.get("event") == name]

    def close(self) -> None:
        structlog.reset_defaults()
        structlog.contextvars.clear_contextvars()
