from collections.abc import AsyncIterator, Iterator

import aiohttp
import pytest
from fakes import FakeAri, JsonLogs

from calls.harness import Harness


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


@pytest.fixture
async def harness(fake_ari: FakeAri, http: aiohttp.ClientSession, json_logs: JsonLogs):
    """harness(handlers) -> a started Harness (dispatcher + stream + client on the fake ARI); stopped at the end."""
    started: list[Harness] = []

    async def make(handlers) -> Harness:
        h = await Harness(fake_ari, http, handlers).start()
        started.append(h)
        return h

    yield make
    for h in started:
        await h.stop()
