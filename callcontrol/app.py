"""Composition root: builds every object once, runs the long-lived loops in one TaskGroup."""

from __future__ import annotations

import asyncio
import contextlib
import signal
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

import aiohttp
import redis.asyncio as aioredis
import structlog

from callcontrol import numbers
from callcontrol.ari.client import AriClient
from callcontrol.ari.events import EventStream
from callcontrol.calls.dispatcher import CallDispatcher, CallEndHook, CallHandler, DispatcherSettings
from callcontrol.calls.session import CallSession, TransferPlan
from callcontrol.clock import Clock
from callcontrol.configset import ConfigSet
from callcontrol.flows.runner import FlowRunner
from callcontrol.routing.dialer import Dialer, DialPlan
from callcontrol.routing.distributor import Distributor
from callcontrol.routing.queue import HotlineRouter
from callcontrol.state.layer import StateLayer

log = structlog.get_logger("callcontrol.app")

HEARTBEAT_SECONDS = 5.0
HEARTBEAT_TTL = 15.0


@dataclass
class App:
    """The running application's parts."""

    config: ConfigSet
    ari: AriClient
    events: EventStream
    dispatcher: CallDispatcher
    state: StateLayer
    router: HotlineRouter
    distributor: Distributor
    clock: Clock


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
    async def handle(call: CallSession) -> str | None:
        if call.resumed:  # adopted after a restart: a queued or connected call carries on where it was
            outcome = await router.resume(call)
            if outcome is not None:
                return outcome
        await call.answer()
        await runner.run(call, entry=call.kind)
        # The flow's own hangup is followed by hangup events too: only the caller's hangup is "caller_hangup".
        return "caller_hangup" if call.hung_up and not call.ended_by_us and not call.outcome else call.outcome

    return handle


def journal_hook(state: StateLayer, salt: str, region: str) -> CallEndHook:
    """What the journal keeps of each call: path, wait, agent, outcome; the citizen only as a masked number."""

    async def on_call_end(call: CallSession, duration: float) -> None:
        facts = call.facts
        outcome = call.outcome or "completed"
        if facts.get("agent"):
            outcome = "answered"
        elif facts.get("hotline") and outcome == "caller_hangup":
            outcome = "abandoned"
        entry = {
            "call_id": call.call_id,
            "kind": call.kind,
            "started_at": round(call.started_at, 3),
            "duration": round(duration, 3),
            "caller": numbers.mask(call.caller_raw, region),
            "caller_hash": numbers.fingerprint(call.caller_raw, salt, region) or "",
            "dialled": call.dialled,
            "outcome": outcome,
            # The path with its timestamps (seconds from the start of the call) and details (digits, hotline,
            # agent, recording name...): what happened, in order, for the follow-up and the statistics.
            "path": [
                {"at": round(step.at - call.started_at, 3), "step": step.step, **step.detail} for step in call.path
            ],
            **{k: v for k, v in facts.items() if v is not None},
        }
        try:
            await state.journal.append(entry)
        except Exception as exc:  # Redis away: the call is over anyway; the log line keeps the facts
            log.warning("journal_write_failed", error=str(exc) or type(exc).__name__)

    return on_call_end


async def heartbeat(state: StateLayer, instance_id: str) -> None:
    while True:
        try:
            await state.instances.heartbeat(instance_id, HEARTBEAT_TTL)
        except Exception as exc:
            log.warning("heartbeat_failed", error=str(exc) or type(exc).__name__)
        await asyncio.sleep(HEARTBEAT_SECONDS)


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
        distributor = Distributor(state, redis, config.hotlines, instance_id)
        dispatcher = CallDispatcher(
            ari,
            {},
            clock,
            DispatcherSettings(
                region=settings.city.country,
                language=settings.city.language,
                number_salt=settings.logging.number_salt,
                transfer=TransferPlan(public_number=settings.city.public_number, public_name=settings.city.public_name),
            ),
            on_call_end=journal_hook(state, settings.logging.number_salt, settings.city.country),
        )
        dialer = Dialer(
            ari,
            dispatcher.own,
            DialPlan(public_number=settings.city.public_number, public_name=settings.city.public_name),
        )
        router = HotlineRouter(
            ari=ari,
            state=state,
            distributor=distributor,
            dialer=dialer,
            hotlines=config.hotlines,
            instance_id=instance_id,
            clock=clock,
        )
        runner = FlowRunner(config.flows, enqueuer=router, manual_closures=ClosuresAdapter(state))
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
                    tg.create_task(heartbeat(state, instance_id)),
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
