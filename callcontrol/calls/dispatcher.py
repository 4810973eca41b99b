"""Routes ARI events to calls: one asyncio task per call, events delivered by channel id, hangup = cancellation.

A call's task is started on StasisStart, runs the handler registered for the call's kind (the first Stasis
argument: inbound, agents-line, feature, ...) and always ends through `finally`: cleanup, one `call_ended` line,
the journal hook. One call crashing is logged and never reaches another call or the event stream.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field

import structlog

from callcontrol import numbers
from callcontrol.ari.client import AriClient
from callcontrol.ari.errors import AriError, ResourceGone
from callcontrol.ari.models import Channel, Event, StasisStart
from callcontrol.calls.errors import CallEnded
from callcontrol.calls.session import CallSession, TransferPlan
from callcontrol.clock import Clock

log = structlog.get_logger("callcontrol.calls")

CallHandler = Callable[[CallSession], Awaitable[str | None]]
CallEndHook = Callable[[CallSession, float], Awaitable[None]]


@dataclass(frozen=True)
class DispatcherSettings:
    region: str = "FR"
    language: str = "fr"
    number_salt: str = ""
    transfer: TransferPlan = field(default_factory=TransferPlan)


class CallDispatcher:
    def __init__(
        self,
        ari: AriClient,
        handlers: Mapping[str, CallHandler],
        clock: Clock,
        settings: DispatcherSettings = DispatcherSettings(),
        on_call_end: CallEndHook | None = None,
    ):
        self._ari = ari
        self._handlers = dict(handlers)
        self._clock = clock
        self._settings = settings
        self._on_call_end = on_call_end
        self._owners: dict[str, CallSession] = {}  # channel id -> call
        self._tasks: dict[str, asyncio.Task[None]] = {}  # call id -> task
        self._task_group: asyncio.TaskGroup | None = None

    def set_handler(self, kind: str, handler: CallHandler) -> None:
        """Handle calls whose first Stasis argument is `kind` (wired by the composition root)."""
        self._handlers[kind] = handler

    def attach(self, task_group: asyncio.TaskGroup) -> None:
        """Calls run as children of the app's TaskGroup (they never raise into it)."""
        self._task_group = task_group

    @property
    def active_calls(self) -> list[CallSession]:
        return list({id(s): s for s in self._owners.values()}.values())

    def own(self, channel_id: str, session: CallSession) -> None:
        """Route this channel's events (an agent leg, a snoop) to `session`."""
        session.own_channel(channel_id)
        self._owners[channel_id] = session

    # ------------------------------------------------------------------------------------------ events

    async def on_event(self, event: Event) -> None:
        if isinstance(event, StasisStart) and event.channel.id not in self._owners:
            await self._start_call(event.channel, event.args)
            return
        delivered: set[int] = set()
        for channel_id in event.channel_ids():
            session = self._owners.get(channel_id)
            if session is not None and id(session) not in delivered:
                delivered.add(id(session))
                session.deliver(event)

    async def _start_call(self, channel: Channel, args: tuple[str, ...], *, resumed: bool = False) -> None:
        kind = args[0] if args else ""
        handler = self._handlers.get(kind)
        if handler is None:
            log.warning("call_unexpected", channel=channel.id, kind=kind, hint="not started by our dialplan or dialer")
            try:
                await self._ari.hangup(channel.id)
            except AriError:
                pass
            return
        if self._task_group is None:
            raise RuntimeError("dispatcher not attached to a TaskGroup")
        session = CallSession(
            channel=channel,
            kind=kind,
            dialled=args[1] if len(args) > 1 else channel.exten,
            ari=self._ari,
            clock=self._clock,
            region=self._settings.region,
            language=self._settings.language,
            resumed=resumed,
            transfer_plan=self._settings.transfer,
            own_channel=self.own,
        )
        self._owners[channel.id] = session
        task = self._task_group.create_task(self._run(session, handler), name=f"call-{session.call_id}")
        self._tasks[session.call_id] = task

    async def _run(self, session: CallSession, handler: CallHandler) -> None:
        structlog.contextvars.bind_contextvars(call_id=session.call_id, channel=session.channel.id)
        started = self._clock.monotonic()
        log.info(
            "call_started",
            kind=session.kind,
            caller=session.caller_raw,
            caller_hash=numbers.fingerprint(session.caller_raw, self._settings.number_salt, self._settings.region),
            dialled=session.dialled,
            resumed=session.resumed,
        )
        outcome = "error"
        task = asyncio.current_task()
        # Installed here, not at creation: a hangup that arrives before the task first runs must not cancel it
        # before its `finally` can clean up and log.
        session.set_end_hook(lambda: task.cancel("caller hung up") if task else None)
        try:
            if session.hung_up:
                raise CallEnded(session.channel.id)
            outcome = await handler(session) or session.outcome or "completed"
        except asyncio.CancelledError:
            if not session.hung_up:
                outcome = "interrupted"  # the app is shutting down; Asterisk keeps the channel
                raise
            outcome = session.outcome or "caller_hangup"
        except CallEnded:
            outcome = session.outcome or "caller_hangup"
        except Exception:
            log.exception("call_failed")
            outcome = "error"
        finally:
            if outcome != "interrupted":
                await session.cleanup()
            for channel_id in session.owned_channels:
                self._owners.pop(channel_id, None)
            self._tasks.pop(session.call_id, None)
            duration = self._clock.monotonic() - started
            session.outcome = outcome
            log.info(
                "call_ended",
                outcome=outcome,
                duration=round(duration, 3),
                path=[step.step for step in session.path],
            )
            if self._on_call_end is not None and outcome != "interrupted":  # the next instance journals it
                try:
                    await self._on_call_end(session, duration)
                except Exception:
                    log.exception("call_end_hook_failed")

    # ------------------------------------------------------------------------------------------ reconcile

    async def reconcile(self) -> None:
        """After each (re)connection: Asterisk owns which channels exist. End calls whose channel vanished;
        adopt channels in our application that no task owns (the app restarted under them).

        A channel whose kind has no handler but names a call (agent legs: `agent-leg,<call id>`) is left to that
        call, which re-attaches it when it resumes; one whose call is gone is an orphan and is hung up."""
        channels = await self._ari.channels()
        live = {c.id: c for c in channels}
        for session in self.active_calls:
            if session.channel.id not in live:
                log.info("call_channel_vanished", call_id=session.call_id, channel=session.channel.id)
                session.channel_vanished()
        secondary: list[tuple[Channel, str]] = []
        for channel in channels:
            if channel.id in self._owners or channel.app_name != "Stasis":
                continue
            app, *args = channel.app_data.split(",")
            if app != self._ari.app:
                continue
            kind = args[0] if args else ""
            if kind not in self._handlers and len(args) > 1:
                secondary.append((channel, args[1]))
                continue
            log.info("call_adopted", channel=channel.id, kind=kind)
            try:
                await self._start_call(channel, tuple(args), resumed=True)
            except ResourceGone:
                continue
        for channel, call_id in secondary:
            if call_id not in self._owners:  # call ids are the citizens' channel ids
                log.info("orphan_channel_hung_up", channel=channel.id, call_id=call_id)
                try:
                    await self._ari.hangup(channel.id)
                except AriError:
                    pass

    async def shutdown(self) -> None:
        """Stop our tasks without touching the calls: channels stay in Stasis and the next start adopts them."""
        for task in list(self._tasks.values()):
            task.cancel("shutdown")
