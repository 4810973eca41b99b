"""Composition root: builds every object once, runs the long-lived loops in one TaskGroup."""

from __future__ import annotations

import asyncio
import signal
from dataclasses import dataclass
from datetime import datetime
from zoneinfo import ZoneInfo

import aiohttp
import structlog

from callcontrol.ari.client import AriClient
from callcontrol.ari.events import EventStream
from callcontrol.calls.clock import Clock
from callcontrol.calls.dispatcher import CallDispatcher, CallHandler, DispatcherSettings
from callcontrol.calls.session import CallSession
from callcontrol.config import Config

log = structlog.get_logger("callcontrol.app")


@dataclass
class App:
    """The running application's parts, exposed for tests and the supervision API."""

    config: Config
    ari: AriClient
    events: EventStream
    dispatcher: CallDispatcher
    clock: Clock


async def welcome_and_hang_up(call: CallSession) -> str:
    """The first flow: answer, play the French welcome, hang up."""
    await call.answer()
    call.note("answered")
    await call.play(["callcontrol/welcome", "callcontrol/goodbye"])
    call.note("welcome_played")
    await call.hangup()
    return "completed"


def make_clock(config: Config, clock_override: str | None) -> Clock:
    zone = ZoneInfo(config.settings.city.timezone)
    start_at = datetime.fromisoformat(clock_override) if clock_override else None
    return Clock(zone=zone, start_at=start_at)


def build_handlers() -> dict[str, CallHandler]:
    return {"inbound": welcome_and_hang_up}


async def run(config: Config, *, clock_override: str | None = None, stop: asyncio.Event | None = None) -> None:
    """Run until SIGTERM/SIGINT (or `stop` is set). Calls in progress stay up in Asterisk across a restart."""
    settings = config.settings
    stop = stop or asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        try:
            loop.add_signal_handler(sig, stop.set)
        except (NotImplementedError, RuntimeError):
            pass
    clock = make_clock(config, clock_override)
    async with aiohttp.ClientSession() as http:
        ari = AriClient(http, settings.ari.url, settings.ari.user, settings.ari.password, settings.ari.app)
        events = EventStream(http, settings.ari.url, settings.ari.user, settings.ari.password, settings.ari.app)
        dispatcher = CallDispatcher(
            ari,
            build_handlers(),
            clock,
            DispatcherSettings(
                region=settings.city.country,
                language=settings.city.language,
                number_salt=settings.logging.number_salt,
            ),
        )
        log.info(
            "callcontrol_starting",
            app=settings.ari.app,
            ari=settings.ari.url,
            instance=settings.instance.id,
            public_number=settings.city.public_number,
        )
        try:
            async with asyncio.TaskGroup() as tg:
                dispatcher.attach(tg)
                stream = tg.create_task(events.run(dispatcher.on_event, on_connect=dispatcher.reconcile))
                await stop.wait()
                log.info("callcontrol_stopping", active_calls=len(dispatcher.active_calls))
                stream.cancel()
                await dispatcher.shutdown()
        finally:
            log.info("callcontrol_stopped")
