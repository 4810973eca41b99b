"""Fixtures shared by the unit tests: the in-process fake ARI, an aiohttp session, captured JSON logs."""

from collections.abc import AsyncIterator, Iterator

import aiohttp
import pytest
from fakes import FakeAri, JsonLogs


@pytest.fixture
async def fake_ari() -> AsyncIterator[FakeAri]:
    async with FakeAri() as server:
        yield server


@pytest.fixture
async def http() -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession() as session:
        yield session


@pytest.fixture
def json_logs() -> Iterator[JsonLogs]:
    capture = JsonLogs()
    yield capture
    capture.close()
