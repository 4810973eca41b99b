"""What a running instance keeps in Redis, and keeps true: its heartbeat, the agent directory, the shared clock;
written at start-up and again, by itself, when Redis comes back without its data (state/epoch.py)."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable

import structlog

from callcontrol.cancelling import cancel_pending
from callcontrol.clock import Clock
from callcontrol.configset import ConfigSet
from callcontrol.state.epoch import StateEpoch
from callcontrol.state.health import OUTAGE_ERRORS, RedisHealth, describe
from callcontrol.state.layer import StateLayer

log = structlog.get_logger("callcontrol.app")

STATE_CHECK_SECONDS = 1.0  # how soon a Redis that came back empty gets the directory and the clock again


async def heartbeat(state: StateLayer, instance_id: str, app: str, ttl: float, health: RedisHealth) -> None:
    """Alive for `ttl` s, renewed every ttl/3; when it stops, another instance takes our callers over."""
    while True:
        try:
            async with health.guard():
                await state.instances.heartbeat(instance_id, ttl, app=app)
        except OUTAGE_ERRORS:
            pass  # said once by the health (redis_unreachable ... redis_restored), not every beat
        except Exception as exc:
            log.warning("heartbeat_failed", error=describe(exc))
        await asyncio.sleep(ttl / 3)


async def prepare_state(state: StateLayer, config: ConfigSet, clock: Clock, instance_id: str) -> None:
    """What this instance writes to Redis at start-up, and again when Redis lost it."""
    await state.shared_clock.publish(clock)  # first, so that the CLI run once agents are synced reads our clock
    log.info("clock_shared", offset_seconds=round(clock.offset, 3), city_time=clock.now().isoformat())
    on_call = [h.id for h in config.hotlines.values() if h.on_call]  # their duty (handovers, rota) is kept too
    result = await state.agents.sync_agents(config.agents, on_call=on_call)  # live presence kept
    log.info("agents_synced", agents=len(config.agents), added=list(result.added), removed=list(result.removed))
    settings = config.settings
    await state.instances.heartbeat(instance_id, settings.instance.heartbeat_ttl, app=settings.ari.app)


async def keep_state(
    state: StateLayer,
    config: ConfigSet,
    clock: Clock,
    instance_id: str,
    health: RedisHealth,
    refill: Callable[[], Awaitable[None]] | None = None,
) -> None:
    """Prepare the state, then check every second that Redis still holds it (state/epoch.py). A Redis that came
    back empty, or was flushed, gets it again; the agents it forgot are reported: one `presence_lost` line, and
    `agent status` shows them logged out with that reason until they log in again."""
    epoch = StateEpoch(state.store)
    token: str | None = None
    logged_in: list[str] = []  # at the last check: what Redis may forget
    while True:
        if cancel_pending():  # a cancel a Redis client's read swallowed: stop all the same
            raise asyncio.CancelledError
        try:
            async with health.guard(timeout=5.0):
                # the ids only, from the set the scripts keep: reading every presence here each second cost
                # more than all the calls together with 300 agents (bench/README.md); with the token, one round trip
                found, ids = await epoch.current_and_logged_in() if token is not None else (None, [])
                if token is None or found != token:
                    if token is not None:
                        log.warning("state_lost", hint="Redis restarted without its data, or was flushed")
                    await prepare_state(state, config, clock, instance_id)
                    if token is not None and refill is not None:
                        await refill()  # what else this instance keeps in Redis (the softphones' reachability)
                    if token is not None and logged_in:
                        marked = await epoch.mark_presence_lost(logged_in)
                        log.warning("presence_lost", agents=logged_in, marked=marked, hint="they must log in again")
                    token = await epoch.claim()
                    ids = await state.agents.logged_in_ids()
                logged_in = ids
        except OUTAGE_ERRORS:
            pass  # said once by the health; the next check retries
        except Exception as exc:
            log.warning("state_check_failed", error=describe(exc))
        await asyncio.sleep(STATE_CHECK_SECONDS)
