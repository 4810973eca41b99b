"""Taking over a dead instance: its waiting citizens, its agents' reservations and wrap-ups, its orphaned legs.

Every instance heartbeats (`cc:instance:{id}` with a TTL). Each one also watches the others: when a heartbeat has
expired, every live instance asks Redis to take the dead one over, and one Lua script (state/scripts/take_over.lua)
lets exactly one of them do it, in one step: the waiting and offered calls become the taker's at their place,
agents it was ringing stay reserved until their leg is gone, expired wrap-ups end at once. The taker then works
on Asterisk, where the dead instance's channels are still in Stasis under its application name:
- each waiting citizen is moved into our application (`POST /channels/{id}/move`); the dispatcher treats the
  StasisStart that follows as an adopted call, so routing/resume.py carries it on at its place in the queue;
- a citizen Redis does not know (it was in the IVR) is moved too and its flow runs again, as after a restart;
- the dead instance's agent legs (ringing, whispering) are hung up, and their agents freed once the legs are gone;
- the wrap-ups still running get a timer here (the dead instance's timers are gone).
Conversations (a citizen bridged with an agent) are left up in Asterisk, where they are; the taker watches them
(ARI, once a second) and when either side hangs up, hangs up the other and frees the agent.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable

import structlog

from callcontrol.ari.client import AriClient
from callcontrol.ari.errors import AriError, ResourceGone, quietly
from callcontrol.ari.models import Channel
from callcontrol.calls.legs import is_leg_of, owner_of
from callcontrol.state.instances import TakeOver
from callcontrol.state.layer import StateLayer

log = structlog.get_logger("callcontrol.routing")

CHECK_SECONDS = 1.0  # how often the other instances' heartbeats are checked
LEG_GONE_MAX_SECONDS = 3.0
WATCH_SECONDS = 1.0  # how often a dead instance's conversation is looked at


class Takeover:
    def __init__(
        self,
        *,
        ari: AriClient,
        state: StateLayer,
        instance_id: str,
        expect_adopted: Callable[[str], None],
        forget_adopted: Callable[[str], None],
        check_every: float = CHECK_SECONDS,
        on_taken_over: Callable[[str, int], None] | None = None,  # (dead instance, calls adopted): a metric
    ):
        self._on_taken_over = on_taken_over
        self._ari = ari
        self._state = state
        self._instance = instance_id
        self._expect = expect_adopted
        self._forget = forget_adopted
        self._every = check_every

    async def run(self) -> None:
        """Forever: take over whichever instance stopped heartbeating (Redis decides who does it)."""
        async with asyncio.TaskGroup() as timers:
            while True:
                await asyncio.sleep(self._every)
                try:
                    dead = await self._state.instances.dead()
                except Exception as exc:  # Redis away: the events channel says so; retry at the next check
                    log.debug("takeover_check_failed", error=str(exc) or type(exc).__name__)
                    continue
                for instance in sorted(dead - {self._instance}):
                    try:
                        await self.take_over(instance, timers)
                    except Exception:
                        log.exception("takeover_failed", dead=instance)

    async def take_over(self, dead: str, timers: asyncio.TaskGroup) -> TakeOver:
        loop = asyncio.get_running_loop()
        started = loop.time()
        result = await self._state.instances.take_over(dead, self._instance)
        if not result.taken:
            return result
        channels = await self._channels()
        moved, gone = await self._move_citizens(result, channels)
        restarted = await self._move_ivr_calls(result, channels)
        legs = await self._hang_up_legs(result, channels)
        for agent_id, until in result.wrap_ups:
            timers.create_task(self._end_wrap_up(agent_id, until))
        for call_id in result.connected:
            its_legs = [c.id for c in channels if is_leg_of(c.id, call_id)]
            timers.create_task(self._watch_conversation(call_id, its_legs))
        log.info(
            "instance_taken_over",
            dead=dead,
            app=result.app,
            calls=len(result.adopted),
            moved=moved,
            gone=gone,
            flows_restarted=restarted,
            conversations_watched=len(result.connected),
            agents_released=len(result.dismissing) + len(result.freed),
            wrap_ups=len(result.wrap_ups),
            legs_hung_up=legs,
            took_ms=round((loop.time() - started) * 1000, 1),
        )
        if self._on_taken_over is not None:
            self._on_taken_over(dead, len(result.adopted))
        return result

    async def _channels(self) -> list[Channel]:
        try:
            return await self._ari.channels()
        except AriError as exc:
            log.warning("takeover_channels_unavailable", error=exc.message)
            return []

    async def _move(self, channel: Channel) -> bool:
        """Into our application, with the Stasis arguments it had (its kind and the number dialled)."""
        _app, *args = channel.app_data.split(",")
        self._expect(channel.id)
        try:
            await self._ari.request(
                "POST", f"/channels/{channel.id}/move", params={"app": self._ari.app, "appArgs": ",".join(args)}
            )
            return True
        except AriError as exc:
            self._forget(channel.id)
            if not isinstance(exc, ResourceGone):
                log.warning("takeover_move_failed", channel=channel.id, error=exc.message)
            return False

    async def _move_citizens(self, result: TakeOver, channels: list[Channel]) -> tuple[int, int]:
        """The dead instance's waiting citizens, at their place: moved to us (their call ids are their channels)."""
        live = {c.id: c for c in channels}
        moved = gone = 0
        for call_id in result.adopted:
            channel = live.get(call_id)
            if channel is not None and channel.app_name == "Stasis" and await self._move(channel):
                moved += 1
                continue
            gone += 1  # the citizen hung up while nobody watched: out of the queue
            with contextlib.suppress(Exception):
                await self._state.queues.leave(call_id)
        return moved, gone

    async def _move_ivr_calls(self, result: TakeOver, channels: list[Channel]) -> int:
        """Citizens of the dead application that Redis does not know (in the IVR): their flow runs again here.
        Those in a bridge (a conversation, a transfer) are left where they are."""
        if not result.app:
            return 0
        known = set(result.adopted) | set(result.connected)
        candidates = [
            c for c in channels
            if _stasis_app(c) == result.app and c.id not in known and owner_of(_stasis_args(c)) is None
        ]  # fmt: skip
        if not candidates:
            return 0
        try:
            bridged = {ch for bridge in await self._ari.bridges() for ch in bridge.channels}
        except AriError:
            return 0
        restarted = 0
        for channel in candidates:
            if channel.id not in bridged and await self._move(channel):
                restarted += 1
        return restarted

    async def _hang_up_legs(self, result: TakeOver, channels: list[Channel]) -> int:
        """The dead instance's agent legs that are not in a conversation are hung up; the agents it was ringing are
        freed once their legs are gone (never rung again while a leg of theirs is up)."""
        talking = set(result.connected)
        legs = [
            c for c in channels
            if (owner := owner_of(_stasis_args(c))) is not None and owner not in talking
            and (_stasis_app(c) == result.app or owner in result.adopted)
        ]  # fmt: skip
        for leg in legs:
            await quietly(self._ari.hangup(leg.id))
        await asyncio.gather(*(self._gone(leg.id) for leg in legs))
        for dismissal in result.dismissing:
            with contextlib.suppress(Exception):
                await self._state.queues.release_dismissed(dismissal.call_id, dismissal.agent_id)
        return len(legs)

    async def _gone(self, channel_id: str) -> None:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + LEG_GONE_MAX_SECONDS
        while loop.time() < deadline:
            try:
                await self._ari.channel(channel_id)
            except AriError:  # gone (404), or Asterisk away: nothing more to wait for
                return
            await asyncio.sleep(0.05)

    async def _watch_conversation(self, call_id: str, legs: list[str]) -> None:
        """A conversation the dead instance bridged: when the citizen or the agent hangs up, hang up the other
        side and free the agent (no wrap-up: the taker does not know how long this one was)."""
        try:
            agents = (await self._state.queues.get_call(call_id)).agents
        except Exception:
            return
        ids = {call_id, *legs}
        while True:
            await asyncio.sleep(WATCH_SECONDS)
            try:
                up = {c.id for c in await self._ari.channels()} & ids
            except AriError:
                continue
            if call_id not in up or not up - {call_id}:
                break
        for channel_id in up:
            await quietly(self._ari.hangup(channel_id))
        for agent_id in agents:
            try:
                await self._state.queues.release(agent_id)
                log.info("agent_released", agent=agent_id, call_id=call_id, taken_over=True)
            except Exception as exc:
                log.warning("agent_release_failed", agent=agent_id, error=str(exc) or type(exc).__name__)

    async def _end_wrap_up(self, agent_id: str, until: float) -> None:
        """The dead instance's wrap-up timer, here: the agent is offered again when her wrap-up ends."""
        await asyncio.sleep(max(until - self._state.store.now(), 0))
        try:
            current = await self._state.agents.get_state(agent_id)
            if current.wrap_up_until is None or abs(current.wrap_up_until - until) > 0.001:  # ended, or a later one
                return
            await self._state.agents.end_wrap_up(agent_id)
        except Exception as exc:
            log.warning("end_wrap_up_failed", agent=agent_id, error=str(exc) or type(exc).__name__)


def _stasis_args(channel: Channel) -> list[str]:
    if channel.app_name != "Stasis" or not channel.app_data:
        return []
    return channel.app_data.split(",")[1:]


def _stasis_app(channel: Channel) -> str:
    return channel.app_data.split(",")[0] if channel.app_name == "Stasis" else ""

