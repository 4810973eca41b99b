
import aiohttp
import pytest
from fakes import FakeAri, JsonLogs

from calls.harness import Harness


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
