"""The dialer on a virtual clock (looptime): what an agent's phone is shown, the whisper, press 1 on mobiles,
ring and accept timeouts, and that a leg not taken is always hung up."""

from __future__ import annotations

import asyncio

import pytest

from callcontrol.ari.errors import AriError, AriUnavailable
from callcontrol.ari.models import ChannelDestroyed, ChannelDtmfReceived, PlaybackFinished, StasisStart
from callcontrol.ari.resources import Channel, Playback
from callcontrol.calls.legs import PublicIdentity
from callcontrol.routing.dialer import Dialer, Leg, LegResult
from callcontrol.routing.hotlines import HotlineRouting
from callcontrol.state import AgentRecord, Device

from .kit import StubAri, citizen, eventually

IDENTITY = PublicIdentity(number="+33556000000", name="Mairie")
ALICE = AgentRecord(id="alice", name="Alice", softphone="1001", mobile="+33612000001", hotlines={"etat-civil": 0})
HOTLINE = HotlineRouting(id="etat-civil", name="État civil", ring_timeout=15, accept_timeout=8)

pytestmark = pytest.mark.looptime


class Ringing:
    """One `Dialer.ring` running against a stub ARI, and what the phone does."""

    def __init__(self, device: Device, hotline: HotlineRouting = HOTLINE) -> None:
        self.ari = StubAri()
        self.call = citizen(self.ari)
        self.dialer = Dialer(self.ari, IDENTITY)  # type: ignore[arg-type]
        self.task: asyncio.Task[Leg] = asyncio.create_task(self.dialer.ring(self.call, ALICE, device, hotline))

    async def leg_id(self) -> str:
        await eventually(lambda: self.ari.named("originate"))
        return self.ari.named("originate")[0][2]

    async def answers(self) -> str:
        leg = await self.leg_id()
        self.call.deliver(StasisStart(type="StasisStart", channel=Channel(id=leg), args=("agent-leg", "c1")))
        await eventually(lambda: self.ari.named("play"))
        return leg

    def whisper_ends(self) -> None:
        playback_id = self.ari.named("play")[0][2]
        self.call.deliver(PlaybackFinished(type="PlaybackFinished", playback=Playback(id=playback_id)))

    def hung_up(self, leg: str) -> bool:
        return ("hangup", leg) in self.ari.calls


async def test_softphone_that_answers_hears_the_whisper_then_is_accepted():
    """A softphone that picks up hears the hotline's name, then is put through (no key needed)."""
    ring = Ringing(Device.SOFTPHONE)
    leg = await ring.answers()
    assert not ring.task.done()  # not before the whisper is over
    ring.whisper_ends()
    result = await ring.task
    assert (result.result, result.channel_id, result.agent_id) == (LegResult.ACCEPTED, leg, "alice")
    assert not ring.hung_up(leg)
    assert ring.ari.named("originate")[0][1] == "PJSIP/1001"


async def test_mobile_voicemail_that_answers_without_pressing_1_is_a_no_answer_after_accept_timeout():
    """A mobile answered by its owner's voicemail never presses 1: no answer once accept_timeout has run out
    after the whisper, and the leg is hung up so the voicemail neither keeps nor hears the citizen."""
    ring = Ringing(Device.MOBILE)
    leg = await ring.answers()
    ring.whisper_ends()
    ended_whisper = asyncio.get_running_loop().time()
    result = await ring.task
    waited = asyncio.get_running_loop().time() - ended_whisper
    assert result.result is LegResult.NO_ANSWER
    assert HOTLINE.accept_timeout - 0.1 <= waited <= HOTLINE.accept_timeout + 0.1
    assert ring.hung_up(leg)
    assert ring.ari.named("originate")[0][1] == "PJSIP/+33612000001@carrier"


async def test_mobile_that_presses_1_during_the_whisper_is_accepted_at_once():
    """The agent on a mobile may press 1 as soon as the whisper starts: the whisper stops, the call is taken."""
    ring = Ringing(Device.MOBILE)
    leg = await ring.answers()
    ring.call.deliver(ChannelDtmfReceived(type="ChannelDtmfReceived", channel=Channel(id=leg), digit="1"))
    result = await ring.task
    assert result.result is LegResult.ACCEPTED
    assert ring.ari.named("stop_playback") and not ring.hung_up(leg)


async def test_mobile_that_presses_another_key_is_not_accepted():
    """Only 1 accepts: a 2 pressed by a voicemail menu or by mistake is ignored until accept_timeout."""
    ring = Ringing(Device.MOBILE)
    leg = await ring.answers()
    ring.call.deliver(ChannelDtmfReceived(type="ChannelDtmfReceived", channel=Channel(id=leg), digit="2"))
    ring.whisper_ends()
    assert (await ring.task).result is LegResult.NO_ANSWER


async def test_phone_that_never_answers_is_a_no_answer_after_the_ring_timeout_and_is_hung_up():
    """Nobody picks up: no answer a little after ring_timeout (Asterisk's own originate timeout), leg hung up."""
    ring = Ringing(Device.SOFTPHONE)
    leg = await ring.leg_id()
    started = asyncio.get_running_loop().time()
    result = await ring.task
    assert result.result is LegResult.NO_ANSWER
    assert HOTLINE.ring_timeout <= asyncio.get_running_loop().time() - started <= HOTLINE.ring_timeout + 2.1
    assert ring.hung_up(leg)


async def test_phone_that_refuses_is_a_no_answer_at_once():
    """A busy or refused phone (the leg ends before answering) is a no answer right away, not after the timeout."""
    ring = Ringing(Device.SOFTPHONE)
    leg = await ring.leg_id()
    started = asyncio.get_running_loop().time()
    ring.call.deliver(ChannelDestroyed(type="ChannelDestroyed", channel=Channel(id=leg), cause=17))
    assert (await ring.task).result is LegResult.NO_ANSWER
    assert asyncio.get_running_loop().time() - started < 1


async def test_originate_asterisk_did_not_answer_is_not_placed_not_a_crash():
    """Asterisk not answering the originate (overload: 503, a timeout) is NOT_PLACED (not her miss), never raised."""
    ari = StubAri()
    ari.originate_error = AriUnavailable(503, "overloaded", "POST", "/channels")
    leg = await Dialer(ari, IDENTITY).ring(citizen(ari), ALICE, Device.SOFTPHONE, HOTLINE)  # type: ignore[arg-type]
    assert leg.result is LegResult.NOT_PLACED


def _timed_out() -> AriUnavailable:
    """An originate sent over a websocket that got no answer in time, Asterisk still holding it in its queue."""
    error = AriUnavailable(0, "Asterisk unreachable: no answer in time", "POST", "/channels")
    error.late = asyncio.get_running_loop().create_future()
    return error


async def test_originate_placed_late_by_a_saturated_asterisk_rings_for_this_call():
    """An originate that timed out but that Asterisk carries out later rings for this call: the agent who
    answers is put through, never freed meanwhile for another citizen while her phone rings."""
    ring = Ringing(Device.SOFTPHONE)
    late = ring.ari.originate_error = _timed_out()
    leg = await ring.leg_id()
    await asyncio.sleep(5)
    assert not ring.task.done()  # still hers, still this call's
    late.late.set_result(200)  # type: ignore[union-attr]
    ring.call.deliver(StasisStart(type="StasisStart", channel=Channel(id=leg), args=("agent-leg", "c1")))
    await eventually(lambda: ring.ari.named("play"))
    ring.whisper_ends()
    assert (await ring.task).result is LegResult.ACCEPTED and not ring.hung_up(leg)


async def test_originate_asterisk_never_answers_is_not_placed_after_the_ring_timeout_and_hung_up():
    """An originate whose answer never comes holds the agent for at most a ring's time, then is NOT_PLACED (not
    her miss) and its leg hung up in case Asterisk places it after all."""
    ring = Ringing(Device.SOFTPHONE)
    ring.ari.originate_error = _timed_out()
    leg = await ring.leg_id()
    started = asyncio.get_running_loop().time()
    assert (await ring.task).result is LegResult.NOT_PLACED
    assert HOTLINE.ring_timeout <= asyncio.get_running_loop().time() - started <= HOTLINE.ring_timeout + 2.1
    assert ring.hung_up(leg)


async def test_originate_refused_by_asterisk_is_a_failure_not_a_crash():
    """Asterisk refusing the originate (an unknown endpoint: 4xx) is reported as FAILED, never raised."""
    ari = StubAri()
    ari.originate_error = AriError(400, "Allocation failed", "POST", "/channels")
    leg = await Dialer(ari, IDENTITY).ring(citizen(ari), ALICE, Device.SOFTPHONE, HOTLINE)  # type: ignore[arg-type]
    assert leg.result is LegResult.FAILED


async def test_ring_cancelled_because_another_agent_won_hangs_up_its_leg_at_once():
    """Ring-all: the moment another agent takes the call, a leg still ringing is hung up, not left ringing until
    the citizen's call ends."""
    ring = Ringing(Device.SOFTPHONE)
    leg = await ring.leg_id()  # ringing, not answered
    ring.task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await ring.task
    assert ring.hung_up(leg)


async def test_agent_who_answered_a_call_another_took_hears_call_taken_then_is_hung_up():
    """Ring-all: an agent who answered but lost the race hears "appel déjà pris" (her whisper stopped), then her
    leg is hung up by `dismiss`, which returns only once Asterisk says the leg is gone."""
    ring = Ringing(Device.SOFTPHONE)
    leg = await ring.answers()  # answered, hearing the whisper
    ring.task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await ring.task
    assert ("stop_playback", f"{leg}-whisper") in ring.ari.calls
    taken = [c for c in ring.ari.named("play") if c[1:] == (leg, f"{leg}-taken")]
    assert taken and not ring.hung_up(leg)
    dismissing = asyncio.create_task(ring.dialer.dismiss(ring.call, leg, answered=True))
    await asyncio.sleep(0.5)
    assert not ring.hung_up(leg)  # she is still hearing it
    ring.call.deliver(PlaybackFinished(type="PlaybackFinished", playback=Playback(id=f"{leg}-taken")))
    await dismissing
    assert ring.hung_up(leg)


async def test_ring_cancelled_while_the_originate_is_in_flight_still_hangs_up_the_leg():
    """A ring cancelled before Asterisk answered the originate waits for it, so that the hangup finds the leg (a
    hangup sent first would miss it and leave the agent's phone ringing)."""
    ari = StubAri()
    gate = asyncio.Event()
    original = ari.originate

    async def slow_originate(*args, **kwargs):
        await gate.wait()
        return await original(*args, **kwargs)

    ari.originate = slow_originate  # type: ignore[method-assign]
    call = citizen(ari)
    task = asyncio.create_task(Dialer(ari, IDENTITY).ring(call, ALICE, Device.SOFTPHONE, HOTLINE, leg_id="c1-x"))  # type: ignore[arg-type]
    await asyncio.sleep(0.1)
    task.cancel()
    await asyncio.sleep(0.1)
    gate.set()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert ari.named("originate") and ("hangup", "c1-x") in ari.calls


@pytest.mark.parametrize(
    ("device", "policy", "shown"),
    [
        (Device.SOFTPHONE, "citizen", '"Mairie État civil" <+33612345678>'),
        (Device.SOFTPHONE, "hotline", '"Mairie État civil" <+33556000000>'),
        (Device.MOBILE, "hotline", '"Mairie État civil" <+33556000000>'),
    ],
)
async def test_agent_phone_shows_the_hotline_and_the_number_the_policy_allows(device, policy, shown):
    """The agent's phone shows "Mairie <hotline>" with the citizen's number only where the policy allows it,
    else the public number; never an agent's own identity."""
    hotline = HOTLINE.model_copy(update={"caller_id_softphone": policy, "caller_id_mobile": policy})
    ring = Ringing(device, hotline)
    await ring.leg_id()
    ring.task.cancel()
    assert ring.ari.named("originate")[0][3] == shown


async def test_phone_that_refuses_is_not_hung_up_again_once_asterisk_said_its_leg_is_destroyed():
    """A leg whose ChannelDestroyed came is gone: no hangup request for it (Asterisk would answer 404)."""
    ring = Ringing(Device.SOFTPHONE)
    leg = await ring.leg_id()
    ring.call.deliver(ChannelDestroyed(type="ChannelDestroyed", channel=Channel(id=leg), cause=17))
    assert (await ring.task).result is LegResult.NO_ANSWER
    assert not ring.hung_up(leg)


async def test_on_placing_runs_once_asterisk_accepted_the_originate():
    """`on_placing` (the citizen's music waits for it) fires once Asterisk answered the agent's originate, not
    before: the music request never competes with the originate for Asterisk's attention."""
    ari = StubAri()
    call = citizen(ari)
    answered = asyncio.Event()
    placed: list[bool] = []

    async def slow_originate(endpoint: str, **kw) -> Channel:
        ari.calls.append(("originate", endpoint, kw["channel_id"], ""))
        await answered.wait()
        return Channel(id=kw["channel_id"])

    ari.originate = slow_originate  # type: ignore[method-assign]
    dialer = Dialer(ari, IDENTITY)  # type: ignore[arg-type]
    ring = dialer.ring(call, ALICE, Device.SOFTPHONE, HOTLINE, on_placing=lambda: placed.append(True))
    task = asyncio.create_task(ring)
    await eventually(lambda: ari.named("originate"))
    await asyncio.sleep(0.1)
    assert placed == []
    answered.set()
    await eventually(lambda: placed)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
