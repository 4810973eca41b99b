"""Routes ARI events to calls: one asyncio task per call, events delivered by channel id, hangup = cancellation.

A call's task is started on StasisStart, runs the handler registered for the call's kind (the first Stasis
argument: inbound, agents-line, feature, ...) and always ends through `finally`: the outcome is decided (one
place: calls/outcome.py), cleanup runs, one `call_ended` line is logged and the end hook (the journal) is called.
One call crashing is logged and never reaches another call or the event stream.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass

import structlog

from callcontrol import numbers
from callcontrol.ari.client import AriClient
from callcontrol.ari.errors import ResourceGone, quietly
from callcontrol.ari.models import Event, StasisStart
from callcontrol.ari.resources import Channel
from callcontrol.calls.errors import CallEnded
from callcontrol.calls.legs import PublicIdentity, owner_of
from callcontrol.calls.outcome import Ending, Outcome, decide
from callcontrol.calls.session import CallSession
from callcontrol.clock import Clock

log = structlog.get_logger("callcontrol.calls")

CallHandler = Callable[[CallSession], Awaitable[None]]
CallEndHook = Callable[[CallSession, float], Awaitable[None]]


@dataclass(frozen=True)
class DispatcherSettings:
    region: str = "FR"
    language: str = "fr"
    number_salt: str = ""
    identity: PublicIdentity | None = None  # the town hall's public number, for the calls a flow places


class CallDispatcher:
    def __init__(
        self,
        ari: AriClient,
        handlers: Mapping[str, CallHandler],
        clock: Clock,
        settings: DispatcherSettings = DispatcherSettings(),
        on_call_end: CallEndHook | None = None,
        unserved: CallHandler | None = None,
    ):
        self._ari = ari
        self._handlers = dict(handlers)
        self._clock = clock
        self._settings = settings
        self._on_call_end = on_call_end
        self._unserved = unserved  # calls of a kind nobody serves: a short prompt, never a bare hangup
        self._owners: dict[str, CallSession] = {}  # channel id -> call
        self._tasks: dict[str, asyncio.Task[None]] = {}  # call id -> task
        self._task_group: asyncio.TaskGroup | None = None
        self._adopting: set[str] = set()  # channels moved to us from a dead instance: their StasisStart resumes

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
        """Route this channel's events (an agent or transfer leg) to `session`."""
        session.own_channel(channel_id)
        self._owners[channel_id] = session

    def expect_adopted(self, channel_id: str) -> None:
        """`channel_id` is being moved into our application from a dead instance's (routing/takeover.py): its
        StasisStart is an adopted call (resumed=True), carried on where Redis says it was."""
        self._adopting.add(channel_id)

    def forget_adopted(self, channel_id: str) -> None:
        """The move did not happen (the channel was gone): no StasisStart will come."""
        self._adopting.discard(channel_id)

    # ------------------------------------------------------------------------------------------ events

    async def on_event(self, event: Event) -> None:
        if isinstance(event, StasisStart) and event.channel.id not in self._owners:
            resumed = event.channel.id in self._adopting
            self._adopting.discard(event.channel.id)
            if resumed:
                log.info("call_adopted", channel=event.channel.id, kind=event.args[0] if event.args else "",
                         moved=True)
            await self._start_call(event.channel, event.args, resumed=resumed)
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
        if handler is None and owner_of(args) is not None:  # a leg whose call is gone (or never was ours)
            log.info("orphan_channel_hung_up", channel=channel.id, call_id=owner_of(args))
            await quietly(self._ari.hangup(channel.id))
            return
        if handler is None:
            log.warning("call_unexpected", channel=channel.id, kind=kind, hint="no flow or handler serves this kind")
            handler = self._unserved
        if handler is None:
            await quietly(self._ari.hangup(channel.id))
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
            identity=self._settings.identity,
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
        ending = Ending.CRASH
        task = asyncio.current_task()
        # Installed here, not at creation: a hangup that arrives before the task first runs must not cancel it
        # before its `finally` can clean up and log.
        session.set_end_hook(lambda: task.cancel("caller hung up") if task else None)
        try:
            if session.hung_up:
                raise CallEnded(session.channel.id)
            await handler(session)
            # A flow that saw the caller leave returns normally: the hangup was still the caller's.
            ending = Ending.CALLER_LEFT if session.caller_left else Ending.FLOW_DONE
        except asyncio.CancelledError:
            if not session.hung_up:
                ending = Ending.SHUTDOWN  # the app is shutting down; Asterisk keeps the channel
                raise
            ending = Ending.CALLER_LEFT
        except CallEnded:
            ending = Ending.CALLER_LEFT
        except Exception:
            log.exception("call_failed")
            ending = Ending.CRASH
        finally:
            outcome = decide(ending, session.facts)
            session.outcome = outcome
            if outcome is not Outcome.INTERRUPTED:
                await session.cleanup(fall_back=ending is Ending.CRASH)
            for channel_id in session.owned_channels:
                self._owners.pop(channel_id, None)
            self._tasks.pop(session.call_id, None)
            duration = self._clock.monotonic() - started
            log.info(
                "call_ended",
                outcome=outcome.value,
                duration=round(duration, 3),
                path=[step.step for step in session.path],
            )
            if self._on_call_end is not None and outcome.journaled:  # else the next instance journals it
                try:
                    await self._on_call_end(session, duration)
                except Exception:
                    log.exception("call_end_hook_failed")

    # ------------------------------------------------------------------------------------------ reconcile

    async def reconcile(self) -> None:
        """After each (re)connection: Asterisk owns which channels exist. End calls whose channel vanished;
        adopt channels in our application that no task owns (the app restarted under them).

        A leg (calls/legs.py: `agent-leg,<call id>`, `transfer-leg,<call id>`) is left to its call, which
        re-attaches it when it resumes; one whose call is gone is an orphan and is hung up."""
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
            owner = owner_of(args)
            if owner is not None:
                secondary.append((channel, owner))
                continue
            log.info("call_adopted", channel=channel.id, kind=kind)
            try:
                await self._start_call(channel, tuple(args), resumed=True)
            except ResourceGone:
                continue
        for channel, call_id in secondary:
            if call_id not in self._owners:  # call ids are the citizens' channel ids
                log.info("orphan_channel_hung_up", channel=channel.id, call_id=call_id)
                await quietly(self._ari.hangup(channel.id))

    async def shutdown(self) -> None:
        """Stop our tasks without touching the calls: channels stay in Stasis and the next start adopts them."""
        for task in list(self._tasks.values()):
            task.cancel("shutdown")
