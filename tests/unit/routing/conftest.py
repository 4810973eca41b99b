"""Fixtures of the routing unit tests."""

import time

import fakeredis
import pytest

from callcontrol.state import StateLayer


@pytest.fixture
async def state():
    redis = fakeredis.FakeAsyncRedis(decode_responses=True)
    yield StateLayer.create(redis, clock=time.time), redis
    await redis.aclose()
