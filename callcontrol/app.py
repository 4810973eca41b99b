"""Composition root: builds every object once, runs the long-lived loops in one TaskGroup."""

from __future__ import annotations

import asyncio
import contextlib
import signal
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

import aiohttp
import redis.asyncio as aioredis
import structlog

from callcontrol.ari.client import AriClient
from callcontrol.ari.events import EventStream
from callcontrol.calls.dispatcher import CallDispatcher, CallEndHook, CallHandler, DispatcherSettings
from callcontrol.calls.legs import PublicIdentity
from callcontrol.calls.outcome import FinishedCall, journal_entry
from callcontrol.calls.session import CallSession
from callcontrol.clock import Clock
from callcontrol.configset import ConfigSet
from callcontrol.flows.hours import ScheduleHours
from callcontrol.flows.runner import FlowRunner
from callcontrol.routing.dialer import Dialer
from callcontrol.routing.distributor import Distributor
from callcontrol.routing.router import HotlineRouter
from callcontrol.routing.takeover import Takeover
from callcontrol.state.layer import StateLayer

log = structlog.get_logger("callcontrol.app")



def make_clock(config: ConfigSet, clock_override: str | None) -> Clock:
    zone = ZoneInfo(config.settings.city.timezone)
    start_at = datetime.fromisoformat(clock_override) if clock_override else None
    return Clock(zone=zone, start_at=start_at)


class ClosuresAdapter:
    """The flows' ManualClosures port over state/closures.py (a city-wide "all" switch counts too)."""

    def __init__(self, state: StateLayer):
        self._state = state

    async def get_closed(self, scope: str) -> Any:
        return await self._state.closures.closed_for(scope)


def flow_handler(runner: FlowRunner, router: HotlineRouter) -> CallHandler:
    async def handle(call: CallSession) -> None:
        if call.resumed and await router.resume(call):  # adopted after a restart: carried on where it was
            return
        await call.answer()
        await runner.run(call, entry=call.kind)

    return handle


def unserved_handler(sound: str = "callcontrol/service-unavailable") -> CallHandler:
    """A call of a kind no flow serves (a number or feature nobody configured): a short prompt and a clean hangup,
    never a bare decline; the dispatcher logs `call_unexpected` with the kind."""

    async def handle(call: CallSession) -> None:
        call.note("unserved", kind=call.kind)
        await call.answer()
        await call.play([sound])
        await call.hangup("normal")

    return handle


def journal_hook(state: StateLayer, salt: str, region: str) -> CallEndHook:
    """Each finished call's journal line (calls/outcome.py decides what it holds)."""

    async def on_call_end(call: CallSession, duration: float) -> None:
        assert call.outcome is not None  # decided by the dispatcher before the hook runs
        finished = FinishedCall(
            call_id=call.call_id,
            kind=call.kind,
            caller_raw=call.caller_raw,
            dialled=call.dialled,
            started_at=call.started_at,
            duration=duration,
            outcome=call.outcome,
            path=call.path,
            facts=call.facts,
        )
        try:
            await state.journal.append(journal_entry(finished, salt=salt, region=region))
        except Exception as exc:  # Redis away: the call is over anyway; the log line keeps the facts
            log.warning("journal_write_failed", error=str(exc) or type(exc).__name__)

    return on_call_end


async def heartbeat(state: StateLayer, instance_id: str, app: str, ttl: float) -> None:
    """Alive for `ttl` s, renewed every ttl/3; when it stops, another instance takes our callers over."""
    while True:
        try:
            await state.instances.heartbeat(instance_id, ttl, app=app)
        except Exception as exc:
            log.warning("heartbeat_failed", error=str(exc) or type(exc).__name__)
        await asyncio.sleep(ttl / 3)


async def sync_directory(state: StateLayer, config: ConfigSet) -> None:
    """Push config/agents.yaml into Redis (live presence kept), retrying while Redis is away."""
    while True:
        try:
            result = await state.agents.sync_agents(config.agents)
            log.info("agents_synced", agents=len(config.agents), added=list(result.added), removed=list(result.removed))
            return
        except Exception as exc:
            log.warning("agents_sync_failed", error=str(exc) or type(exc).__name__)
            await asyncio.sleep(2.0)


async def share_clock(state: StateLayer, clock: Clock) -> None:
    """One clock for every process: publish this instance's city-clock offset (none: real time, key removed)."""
    while True:
        try:
            await state.shared_clock.publish(clock)
            log.info("clock_shared", offset_seconds=round(clock.offset, 3), city_time=clock.now().isoformat())
            return
        except Exception as exc:
            log.warning("clock_share_failed", error=str(exc) or type(exc).__name__)
            await asyncio.sleep(2.0)


async def prepare_state(state: StateLayer, config: ConfigSet, clock: Clock) -> None:
    await share_clock(state, clock)  # first, so that the CLI run once agents are synced reads our clock
    await sync_directory(state, config)


async def run(config: ConfigSet, *, clock_override: str | None = None, stop: asyncio.Event | None = None) -> None:
    """Run until SIGTERM/SIGINT (or `stop` is set). Calls in progress stay up in Asterisk across a restart."""
    settings = config.settings
    stop = stop or asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        with contextlib.suppress(NotImplementedError, RuntimeError):
            loop.add_signal_handler(sig, stop.set)
    clock = make_clock(config, clock_override)
    instance_id = settings.instance.id
    redis = aioredis.from_url(settings.redis.url, socket_connect_timeout=2, health_check_interval=10)
    state = StateLayer.create(redis, clock=clock.time)
    async with aiohttp.ClientSession() as http:
        ari = AriClient(http, settings.ari.url, settings.ari.user, settings.ari.password, settings.ari.app)
        events = EventStream(http, settings.ari.url, settings.ari.user, settings.ari.password, settings.ari.app)
        identity = PublicIdentity(number=settings.city.public_number, name=settings.city.public_name)
        closures = ClosuresAdapter(state)
        distributor = Distributor(state, config.hotlines, instance_id)
        dispatcher = CallDispatcher(
            ari,
            {},
            clock,
            DispatcherSettings(
                region=settings.city.country,
                language=settings.city.language,
                number_salt=settings.logging.number_salt,
                identity=identity,
            ),
            on_call_end=journal_hook(state, settings.logging.number_salt, settings.city.country),
            unserved=unserved_handler(),
        )
        router = HotlineRouter(
            ari=ari,
            state=state,
            distributor=distributor,
            dialer=Dialer(ari, identity),
            hotlines=config.hotlines,
            instance_id=instance_id,
            clock=clock,
            hours=ScheduleHours(config.flows.schedules, closures, clock.now),
        )
        takeover = Takeover(
            ari=ari,
            state=state,
            instance_id=instance_id,
            expect_adopted=dispatcher.expect_adopted,
            forget_adopted=dispatcher.forget_adopted,
        )
        runner = FlowRunner(config.flows, enqueuer=router, manual_closures=closures)
        for entry in config.flows.entries:
            dispatcher.set_handler(entry, flow_handler(runner, router))
        log.info(
            "callcontrol_starting",
            app=settings.ari.app,
            ari=settings.ari.url,
            instance=instance_id,
            public_number=settings.city.public_number,
            entries=sorted(config.flows.entries),
            hotlines=sorted(config.hotlines),
        )
        try:
            async with asyncio.TaskGroup() as tg:
                dispatcher.attach(tg)
                router.attach(tg)
                loops = [
                    tg.create_task(prepare_state(state, config, clock)),
                    tg.create_task(heartbeat(state, instance_id, settings.ari.app, settings.instance.heartbeat_ttl)),
                    tg.create_task(takeover.run()),
                    tg.create_task(distributor.run()),
                    tg.create_task(distributor.sweep_forever()),
                    tg.create_task(events.run(dispatcher.on_event, on_connect=dispatcher.reconcile)),
                ]
                await stop.wait()
                log.info("callcontrol_stopping", active_calls=len(dispatcher.active_calls))
                for task in loops:
                    task.cancel()
                await dispatcher.shutdown()
                router.shutdown()
        finally:
            with contextlib.suppress(Exception):
                await redis.aclose()
            log.info("callcontrol_stopped")
