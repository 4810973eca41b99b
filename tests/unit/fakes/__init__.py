"""Reusable in-process fakes for unit tests (see fakes.ari.FakeAri and fakes.logcapture.JsonLogs)."""

from fakes.ari import FakeAri, RecordedRequest, free_port
from fakes.logcapture import JsonLogs

__all__ = ["FakeAri", "JsonLogs", "RecordedRequest", "free_port"]
