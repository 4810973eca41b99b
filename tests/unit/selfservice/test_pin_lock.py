"""Wrong PINs on the agents' line are counted in Redis, shared by every instance."""

from __future__ import annotations

import fakeredis

from callcontrol.state import StateLayer
from callcontrol.state.pin_lock import PinLock


async def test_three_wrong_pins_lock_the_caller_out_for_every_instance() -> None:
    """Two failures, then a right PIN: forgotten. Three failures: locked, as the other instance sees, for 15 min."""
    server = fakeredis.FakeServer()
    one = PinLock(StateLayer.create(fakeredis.FakeAsyncRedis(server=server)).store, limit=3, seconds=900)
    other = PinLock(StateLayer.create(fakeredis.FakeAsyncRedis(server=server)).store, limit=3, seconds=900)
    await one.failed("abc")
    await other.failed("abc")
    await one.succeeded("abc")
    assert (await other.check("abc")).count == 0
    for _ in range(2):
        assert not (await one.failed("abc")).locked
    tries = await other.failed("abc")
    assert tries.locked and tries.count == 3 and 890 < tries.seconds_left <= 900
    await other.succeeded("abc")  # a right PIN cannot unlock a locked caller
    assert (await one.check("abc")).locked
    assert not (await one.check("someone-else")).locked
