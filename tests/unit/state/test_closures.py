"""Rule 9: manual closure switch."""

from __future__ import annotations

import pytest

from callcontrol.state import Closure, StateLayer

from .helpers import Clock


async def test_set_get_clear_closed(state: StateLayer, clock: Clock) -> None:
    """A closure is returned with its message until cleared."""
    await state.closures.set_closed("etat-civil", "sounds/closed-strike")
    assert await state.closures.get_closed("etat-civil") == Closure("etat-civil", "sounds/closed-strike", None, clock.t)
    assert await state.closures.get_closed("urba") is None
    assert await state.closures.clear_closed("etat-civil")
    assert await state.closures.get_closed("etat-civil") is None
    assert not await state.closures.clear_closed("etat-civil")


async def test_closure_ends_at_until(state: StateLayer, clock: Clock) -> None:
    """A closure with an until-time stops applying at that time."""
    await state.closures.set_closed("all", None, until=clock.t + 3600)
    assert (await state.closures.get_closed("all")) is not None
    clock.advance(3600)
    assert await state.closures.get_closed("all") is None


async def test_closed_for_checks_all_first(state: StateLayer) -> None:
    """closed_for(scope) applies a global closure to every scope, else the scope's own."""
    await state.closures.set_closed("urba", "sounds/urba-closed")
    assert (await state.closures.closed_for("etat-civil")) is None
    assert (await state.closures.closed_for("urba")).message_sound == "sounds/urba-closed"
    await state.closures.set_closed("all", "sounds/all-closed")
    assert (await state.closures.closed_for("etat-civil")).scope == "all"
    assert [c.scope for c in await state.closures.list_closed()] == ["all", "urba"]


async def test_until_in_the_past_is_refused(state: StateLayer, clock: Clock) -> None:
    """Closing until a time already past is a mistake, refused with ValueError."""
    with pytest.raises(ValueError):
        await state.closures.set_closed("all", None, until=clock.t - 1)


async def test_closed_for_is_one_round_trip_and_skips_an_expired_city_closure(state: StateLayer, clock: Clock) -> None:
    """Each call's check reads the city-wide and the scope's closure in one round trip; a city-wide closure whose
    `until` has passed no longer applies, the scope's own does."""
    await state.closures.set_closed("all", "sounds/strike", until=clock.t + 10)
    await state.closures.set_closed("urba", "sounds/urba-closed")
    clock.t += 20
    redis, sent = state.store.redis, []
    execute = redis.execute_command

    async def single(*args, **kwargs):
        sent.append(args[0])
        return await execute(*args, **kwargs)

    pipeline = redis.pipeline

    def piped(*args, **kwargs):
        sent.append("pipeline")
        return pipeline(*args, **kwargs)

    redis.execute_command, redis.pipeline = single, piped
    closure = await state.closures.closed_for("urba")
    assert closure is not None and closure.scope == "urba" and sent == ["pipeline"]
