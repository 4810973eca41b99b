"""Issue 11: a kept callback at its turn: the agent first, then the citizen from the public number; retries, then a
ticket (routing/callback.py, on fakeredis with the real Lua scripts and a recording ARI)."""

from __future__ import annotations

import asyncio
import time
from zoneinfo import ZoneInfo

from callcontrol.ari.models import ChannelDestroyed, PlaybackFinished, StasisStart
from callcontrol.ari.resources import CallerId, Channel, Playback
from callcontrol.calls.legs import PublicIdentity
from callcontrol.calls.session import CallSession
from callcontrol.clock import Clock
from callcontrol.routing.callback import CALLBACK_KIND, CallbackDesk
from callcontrol.routing.callback_upkeep import CallbackEnds, CallbackUpkeep
from callcontrol.routing.dialer import Dialer
from callcontrol.routing.hotlines import CallbackSettings, HotlineRouting
from callcontrol.state import AgentStatus, Strategy

from .kit import HOTLINE, INSTANCE, StubAri, eventually, staff

IDENTITY = PublicIdentity(number="+33556000000", name="Mairie")
SETTINGS = CallbackSettings(retries=1, retry_delay=0, ring_timeout=2)
LINE = HotlineRouting(id=HOTLINE, name="État civil", callback=SETTINGS)


class PlayingAri(StubAri):
    """Every playback finishes at once on the agent's session (the whisper, the prompts, the ringback)."""

    session: CallSession | None = None

    async def play(self, channel_id: str, media, *, lang=None, playback_id=None) -> str:
        await super().play(channel_id, media, lang=lang, playback_id=playback_id)
        self.calls.append(("media", channel_id, *media))
        if self.session is not None and playback_id:
            event = PlaybackFinished(type="PlaybackFinished", playback=Playback(id=playback_id))
            asyncio.get_running_loop().call_soon(self.session.deliver, event)
        return playback_id or "p"


class Tickets:
    """The follow-up's tickets and its callback journal (state/tickets.py, followup/recorder.py), recorded."""

    def __init__(self) -> None:
        self.opened: list[tuple[str, str, str, str | None]] = []
        self.ended: list[tuple[str, str, int, bool]] = []

    async def callback_ended(self, call_id, hotline, outcome, *, on_time, caller_masked="", attempts=0, **detail):
        self.ended.append((call_id, outcome, attempts, on_time))

    async def open(self, kind, hotline, call_id, caller_masked, *, number=None, recording=None, note=""):
        self.opened.append((kind, hotline, call_id, number))


async def _callback_claimed(layer):
    await staff(layer, "1001")
    await layer.queues.enqueue("cb", HOTLINE, owner="gone-instance", caller_masked="+33 6•• •• •• 78")
    await layer.callbacks.keep("cb", "+33612345678", deadline=4e9, retries=1, retry_delay=0)
    claim = await layer.queues.claim(HOTLINE, Strategy.LONGEST_IDLE, instance=INSTANCE)
    assert claim is not None
    return claim


def _desk(layer, ari, tickets, released):
    async def release(agent_id, hotline, since):
        released.append(agent_id)
        await layer.queues.release(agent_id)

    return CallbackDesk(
        ari=ari, state=layer, dialer=Dialer(ari, IDENTITY), identity=IDENTITY,  # type: ignore[arg-type]
        hotlines={HOTLINE: LINE}, release=release, ends=CallbackEnds(tickets, tickets),
    )  # fmt: skip


async def _agent_answers(desk, ari) -> tuple[CallSession, asyncio.Task[None]]:
    await eventually(lambda: ari.named("originate"))
    agent_leg = ari.named("originate")[0][2]
    session = CallSession(
        channel=Channel(id=agent_leg, caller=CallerId(number="+33556000000")), kind=CALLBACK_KIND, dialled="cb",
        ari=ari, clock=Clock(zone=ZoneInfo("Europe/Paris")),  # type: ignore[arg-type]
    )  # fmt: skip
    ari.session = session
    return session, asyncio.create_task(desk.serve(session))


async def _citizen_leg(ari, count: int = 2) -> str:
    await eventually(lambda: len(ari.named("originate")) >= count)
    return ari.named("originate")[count - 1][2]


async def test_given_a_claimed_callback_then_the_agent_is_rung_and_whispered_first_then_the_citizen_as_the_town_hall(
    state,
):
    """Agent leg first ("Mairie rappel État civil", whisper "rappel de l'usager" + the hotline), then the citizen
    through the carrier from the public number; reached: bridged, the number forgotten, the agent released."""
    layer, _ = state
    ari, tickets, released = PlayingAri(), Tickets(), []
    desk = _desk(layer, ari, tickets, released)
    desk.start(await _callback_claimed(layer))
    session, serving = await _agent_answers(desk, ari)
    leg = await _citizen_leg(ari)
    agent_out, citizen_out = ari.named("originate")
    assert agent_out[1] == "PJSIP/1001" and "rappel État civil" in agent_out[3]
    assert citizen_out[1] == "PJSIP/+33612345678@carrier" and citizen_out[3] == '"Mairie" <+33556000000>'
    whisper = next(c for c in ari.calls if c[0] == "media" and c[1] == session.channel.id)
    assert whisper[2:] == ("sound:callcontrol/callback-whisper", "sound:callcontrol/hotline-etat-civil")
    assert (await layer.agents.get_state("1001")).status is AgentStatus.ON_CALL
    session.deliver(StasisStart(type="StasisStart", channel=Channel(id=leg)))
    await eventually(lambda: ari.named("add_channel"))
    assert await layer.callbacks.get("cb") is None  # reached: the number is no longer kept
    session.deliver(ChannelDestroyed(type="ChannelDestroyed", channel=Channel(id=leg)))
    await serving
    await session.cleanup()
    assert released == ["1001"] and tickets.opened == []
    assert tickets.ended == [("cb", "done", 1, True)]  # journaled and counted as done on time
    assert await layer.queues.length(HOTLINE) == 0


async def test_given_a_citizen_who_never_answers_then_the_callback_is_retried_then_becomes_a_failed_ticket(state):
    """Not reached: the agent hears "l'usager n'a pas répondu", the callback comes back at its place; after the
    last retry it is a `callback_failed` ticket with the number to call."""
    layer, _ = state
    ari, tickets, released = PlayingAri(), Tickets(), []
    desk = _desk(layer, ari, tickets, released)
    desk.start(await _callback_claimed(layer))
    for attempt in (1, 2):
        session, serving = await _agent_answers(desk, ari)
        leg = await _citizen_leg(ari)
        session.deliver(ChannelDestroyed(type="ChannelDestroyed", channel=Channel(id=leg)))
        await serving
        await session.cleanup()
        assert ("media", session.channel.id, "sound:callcontrol/callback-not-reached") in ari.calls
        assert released == ["1001"] * attempt
        if attempt == 1:
            assert tickets.opened == []
            assert await layer.callbacks.due() == [HOTLINE]  # retry_delay 0: back at its place at once
            ari.calls.clear()
            desk.start(await layer.queues.claim(HOTLINE, Strategy.LONGEST_IDLE, instance=INSTANCE))
    assert tickets.opened == [("callback_failed", HOTLINE, "cb", "+33612345678")]
    assert tickets.ended == [("cb", "failed", 2, True)]
    assert await layer.callbacks.get("cb") is None and await layer.queues.length(HOTLINE) == 0


async def test_given_a_callback_still_waiting_at_its_deadline_then_it_leaves_the_queue_as_a_late_ticket(state):
    """The upkeep (every instance) turns a waiting callback past its deadline into one `callback_late` ticket."""
    layer, _ = state
    tickets, offered = Tickets(), []

    async def offer_now(hotline: str) -> None:
        offered.append(hotline)

    upkeep = CallbackUpkeep(
        state=layer, ends=CallbackEnds(tickets, tickets), hotlines=[HOTLINE], offer_now=offer_now
    )
    await layer.queues.enqueue("cb", HOTLINE, owner=INSTANCE, caller_masked="+33 6•• •• •• 78")
    await layer.callbacks.keep("cb", "+33612345678", deadline=time.time() - 1, retries=1, retry_delay=0)
    await upkeep.sweep()
    await upkeep.sweep()
    assert tickets.opened == [("callback_late", HOTLINE, "cb", "+33612345678")]
    assert tickets.ended == [("cb", "late", 0, False)]
    assert await layer.queues.length(HOTLINE) == 0 and await layer.callbacks.get("cb") is None
