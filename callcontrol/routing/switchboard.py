"""The switchboard's use cases, for the HTTP API and the CLI alike: what waits where, who is free, and the call
actions (redirect to a chosen agent, move to another hotline, pick up on the switchboard's phone, voicemail),
plus open / close now.

Only Redis is touched here (never ARI: supervision imports this module). A call's task runs on the instance
whose Asterisk holds the citizen (its `owner`), so an action is done in two steps: the atomic change in Redis
(the claim for the chosen agent, or the move to the other queue), then a `SwitchboardAsked` request on the
events channel that the owner's distributor hands to the call's task (routing/distributor.py). A redirect then
waits until that agent's phone rings (the offer publishes `ringing`), so the caller learns whether it worked.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Mapping

import structlog

from callcontrol.clock import Clock
from callcontrol.routing.hotlines import HotlineRouting
from callcontrol.routing.switchboard_views import (
    ActionDone,
    AgentView,
    Figures,
    HotlineView,
    WaitingCall,
)
from callcontrol.state import errors as state_errors
from callcontrol.state.events import CallChanged, CallStage, SwitchboardAsked
from callcontrol.state.layer import StateLayer
from callcontrol.state.models import AgentState, QueuedCall

log = structlog.get_logger("callcontrol.switchboard")

RING_CONFIRM_SECONDS = 5.0  # a redirect waits this long for the agent's phone to ring


class SwitchboardError(Exception):
    """A refused action; str() is the sentence to show. `code` is the API's error code."""

    code = "refused"


class NotFound(SwitchboardError):
    code = "not_found"


class Conflict(SwitchboardError):
    code = "conflict"


class Switchboard:
    def __init__(
        self,
        state: StateLayer,
        hotlines: Mapping[str, HotlineRouting],
        clock: Clock,
        *,
        names: Mapping[str, str] | None = None,
        switchboard_phone: str = "",
        ring_confirm: float = RING_CONFIRM_SECONDS,
    ) -> None:
        self._state = state
        self._hotlines = hotlines
        self._clock = clock
        self._names = dict(names or {})  # agent id -> display name (agents.yaml)
        self._phone = switchboard_phone  # the switchboard's own softphone extension
        self._ring_confirm = ring_confirm

    # -- views ---------------------------------------------------------------------------------------------------
    def hotline_ids(self) -> list[str]:
        return sorted(self._hotlines)

    async def calls(self, hotline: str | None = None) -> list[WaitingCall]:
        """The waiting calls (head first), of one hotline or of all."""
        ids = [self._hotline(hotline).id] if hotline else self.hotline_ids()
        out: list[WaitingCall] = []
        now = self._clock.time()
        for h in ids:
            for n, queued in enumerate(await self._state.queues.waiting(h), start=1):
                out.append(await self._view(queued, now, n))
        return out

    async def call(self, call_id: str) -> WaitingCall:
        queued = await self._queued(call_id)
        position = None
        with contextlib.suppress(state_errors.StateError):
            position = await self._state.queues.position(call_id)
        return await self._view(queued, self._clock.time(), position)

    async def _view(self, queued: QueuedCall, now: float, position: int | None) -> WaitingCall:
        history = await self._state.queues.history(queued.call_id)
        path = tuple(str(s["step"]) for s in history.path) if history else ()
        return WaitingCall(
            call_id=queued.call_id, hotline=queued.hotline, caller=queued.caller_masked or "",
            status=queued.status.value, waited=round(max(0.0, now - queued.enqueued_at), 1), position=position,
            path=path, agents=queued.agents,
        )

    async def agents(self, hotline: str | None = None) -> list[AgentView]:
        """Every configured agent (or a hotline's members), with state and time in state."""
        agents = self._state.agents
        if hotline:
            ids = [a for a, _penalty in await agents.members(self._hotline(hotline).id)]
        else:
            ids = await agents.agent_ids()
        memberships: dict[str, list[str]] = {}
        for h in self.hotline_ids():
            for a, _penalty in await agents.members(h):
                memberships.setdefault(a, []).append(h)
        now = self._clock.time()
        return [self._agent(s, now, memberships.get(s.agent_id, [])) for s in await agents.states(ids)]

    def _agent(self, s: AgentState, now: float, hotlines: list[str]) -> AgentView:
        return AgentView(
            agent_id=s.agent_id, name=self._names.get(s.agent_id, s.agent_id), status=s.status.value,
            device=s.device.value if s.device else None, pause_reason=s.pause_reason, since=s.changed_at,
            in_state=round(max(0.0, now - s.changed_at), 1) if s.changed_at else None, hotlines=tuple(hotlines),
            call_id=s.reserved_by, reachable=s.reachable,
        )

    async def hotlines(self) -> list[HotlineView]:
        everyone = {a.agent_id: a for a in await self.agents()}
        calls = await self.calls()
        out = []
        for h in self.hotline_ids():
            closure = await self._state.closures.closed_for(h)
            out.append(HotlineView(
                hotline_id=h, name=self._hotlines[h].display_name, closed=closure is not None,
                closed_until=closure.until if closure else None,
                waiting=tuple(c for c in calls if c.hotline == h),
                agents=tuple(a for a in everyone.values() if h in a.hotlines),
            ))
        return out

    # -- actions -------------------------------------------------------------------------------------------------
    async def redirect(self, call_id: str, agent_id: str, *, by: str = "api") -> ActionDone:
        """This waiting call to this agent (a member of its hotline or not), as soon as she is free; returns once
        her phone rings. NotFound (call, agent), Conflict (not waiting, agent not free, phone not rung)."""
        queued = await self._queued(call_id)
        try:
            claim = await self._state.queues.claim_call_for_agent(call_id, agent_id, instance=queued.owner)
        except state_errors.AgentNotFound:
            raise NotFound(f"agent {agent_id!r} is not in the agent directory") from None
        except state_errors.CallNotFound:
            raise NotFound(f"call {call_id!r} is not waiting in any hotline (never queued, or gone)") from None
        except state_errors.CallNotWaiting as exc:
            raise Conflict(f"call {call_id!r} is not waiting any more ({exc.status})") from None
        except state_errors.AgentBusy as exc:
            raise Conflict(f"agent {agent_id!r} is not free ({exc.state})") from None
        log.info("switchboard_redirect", call_id=call_id, agent=agent_id, hotline=claim.hotline, by=by)
        asked = SwitchboardAsked(call_id, "redirect", queued.owner, self._clock.time(), agent_id, claim.hotline)
        if not await self._ask_and_confirm(asked, agent_id):
            with contextlib.suppress(state_errors.StateError):
                await self._state.queues.requeue(call_id)
            raise Conflict(f"agent {agent_id!r}'s phone could not be rung for call {call_id!r}: the call waits on")
        return ActionDone(call_id, "redirect", claim.hotline, agent_id=agent_id)

    async def pick_up(self, call_id: str, *, by: str = "api") -> ActionDone:
        """Redirect to the agent whose softphone is the switchboard's own phone (http.switchboard_phone)."""
        if not self._phone:
            raise Conflict("no switchboard phone configured (http.switchboard_phone in callcontrol.yaml)")
        record = await self._state.agents.find_by_softphone(self._phone)
        if record is None:
            raise Conflict(f"the switchboard phone {self._phone} is no agent's softphone (agents.yaml)")
        done = await self.redirect(call_id, record.id, by=by)
        return ActionDone(call_id, "pick_up", done.hotline, agent_id=record.id)

    async def move(self, call_id: str, hotline: str, *, by: str = "api") -> ActionDone:
        """Into `hotline`'s queue, keeping its waiting time (its arrival decides its place there)."""
        target = self._hotline(hotline)
        queued = await self._queued(call_id)
        if queued.hotline == target.id:
            raise Conflict(f"call {call_id!r} already waits in {target.id!r}")
        try:
            _from, position = await self._state.queues.move(call_id, target.id, target.priority)
        except state_errors.CallNotFound:
            raise NotFound(f"call {call_id!r} is not waiting in any hotline (never queued, or gone)") from None
        except state_errors.CallNotWaiting as exc:
            raise Conflict(f"call {call_id!r} is not waiting any more ({exc.status})") from None
        log.info("switchboard_move", call_id=call_id, hotline=target.id, moved_from=queued.hotline, by=by)
        await self._ask(SwitchboardAsked(call_id, "move", queued.owner, self._clock.time(), hotline=target.id))
        return ActionDone(call_id, "move", target.id, position=position)

    async def voicemail(self, call_id: str, *, by: str = "api") -> ActionDone:
        """Out of the queue into the flow's mailbox (its `voicemail` branch, else its `timeout` branch)."""
        queued = await self._queued(call_id)
        if queued.status.value != "waiting":
            raise Conflict(f"call {call_id!r} is not waiting any more ({queued.status.value})")
        log.info("switchboard_voicemail", call_id=call_id, hotline=queued.hotline, by=by)
        await self._ask(SwitchboardAsked(call_id, "voicemail", queued.owner, self._clock.time(),
                                         hotline=queued.hotline))
        return ActionDone(call_id, "voicemail", queued.hotline)

    async def close(self, scope: str, *, minutes: float | None = None, sound: str | None = None) -> float | None:
        """Close `scope` ("all" or a hotline id) now; returns until when (None: until reopened)."""
        self._scope(scope)
        until = self._clock.time() + minutes * 60 if minutes else None
        await self._state.closures.set_closed(scope, sound, until)
        log.info("switchboard_closed", scope=scope, until=until)
        return until

    async def open(self, scope: str) -> bool:
        """Reopen `scope`; whether it was closed."""
        self._scope(scope)
        cleared = await self._state.closures.clear_closed(scope)
        log.info("switchboard_opened", scope=scope, was_closed=cleared)
        return cleared

    # -- helpers -------------------------------------------------------------------------------------------------
    def _hotline(self, hotline: str) -> HotlineRouting:
        found = self._hotlines.get(hotline)
        if found is None:
            raise NotFound(f"no hotline {hotline!r} (hotlines: {', '.join(self.hotline_ids())})")
        return found

    def _scope(self, scope: str) -> None:
        if scope != "all":
            self._hotline(scope)

    async def _queued(self, call_id: str) -> QueuedCall:
        try:
            return await self._state.queues.get_call(call_id)
        except (state_errors.CallNotFound, ValueError):
            raise NotFound(f"call {call_id!r} is not waiting in any hotline (never queued, or gone)") from None

    async def _ask(self, asked: SwitchboardAsked) -> None:
        if not await self._state.events.publish(asked):
            log.warning("switchboard_request_unheard", call_id=asked.call_id, action=asked.action)

    async def _ask_and_confirm(self, asked: SwitchboardAsked, agent_id: str) -> bool:
        """Publish `asked` once subscribed, then wait for that agent's phone to ring for the call (True), the
        call to be back in a queue or gone, or the time to run out (False)."""
        events = self._state.events.listen(CallChanged)
        try:
            async with asyncio.timeout(self._ring_confirm):
                await anext(events)  # Resubscribed: we are subscribed, nothing can be missed from here
                await self._state.events.publish(asked)
                async for event in events:
                    if not (isinstance(event, CallChanged) and event.call_id == asked.call_id):
                        continue
                    if event.stage is CallStage.RINGING and event.agent_id == agent_id:
                        return True
                    if event.stage is CallStage.CONNECTED:
                        return True
                    if event.stage in (CallStage.QUEUED, CallStage.LEFT, CallStage.ENDED):
                        return False
        except TimeoutError:
            return False
        finally:
            await events.aclose()
        return False


__all__ = ["ActionDone", "AgentView", "Conflict", "Figures", "HotlineView", "NotFound", "Switchboard",
           "SwitchboardError", "WaitingCall"]
