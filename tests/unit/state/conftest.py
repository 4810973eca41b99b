"""Fixtures: a StateLayer over fakeredis (or a real Redis when CC_TEST_REDIS_URL is set), with a settable clock."""

from __future__ import annotations

import os
from collections.abc import AsyncIterator

import fakeredis
import pytest
from redis.asyncio import Redis

from callcontrol.state import StateLayer

from .helpers import Clock

REAL_REDIS = os.environ.get("CC_TEST_REDIS_URL")


def _client(server: fakeredis.FakeServer | None) -> Redis:
    if REAL_REDIS:
        return Redis.from_url(REAL_REDIS, decode_responses=True)
    return fakeredis.FakeAsyncRedis(server=server, decode_responses=True)


@pytest.fixture
def server() -> fakeredis.FakeServer | None:
    return None if REAL_REDIS else fakeredis.FakeServer()


@pytest.fixture
async def redis(server: fakeredis.FakeServer | None) -> AsyncIterator[Redis]:
    client = _client(server)
    if REAL_REDIS:
        await client.flushdb()
    yield client
    await client.aclose()


@pytest.fixture
async def redis2(server: fakeredis.FakeServer | None, redis: Redis) -> AsyncIterator[Redis]:
    """A second client on the same server (another callcontrol instance)."""
    client = _client(server)
    yield client
    await client.aclose()


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def state(redis: Redis, clock: Clock) -> StateLayer:
    return StateLayer.create(redis, clock=clock)
