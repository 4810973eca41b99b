"""Reusable in-process fakes for unit tests (fakes.ari.FakeAri, its parts in fakes/ari_*.py; fakes.logcapture)."""

from fakes.ari import FakeAri, RecordedRequest, free_port
from fakes.logcapture import JsonLogs

__all__ = ["FakeAri", "JsonLogs", "RecordedRequest", "free_port"]
