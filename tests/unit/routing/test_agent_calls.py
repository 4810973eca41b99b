"""Agents' own calls (routing/agent_calls.py): who is calling, whom, and what each side is shown or told."""

from __future__ import annotations

import asyncio
from zoneinfo import ZoneInfo

from callcontrol.ari.errors import ResourceGone
from callcontrol.ari.models import ChannelDestroyed, PlaybackFinished, StasisStart
from callcontrol.ari.resources import Channel, Playback
from callcontrol.calls.legs import PublicIdentity
from callcontrol.calls.outcome import Ending, Outcome, decide
from callcontrol.calls.session import CallSession
from callcontrol.clock import Clock
from callcontrol.routing.agent_calls import AgentCalls, shown_as, softphone_of
from callcontrol.routing.dial_out import DialOutPolicy
from callcontrol.state import AgentRecord, Device, StateLayer

from .kit import StubAri, eventually

PUBLIC = PublicIdentity(number="+33556000000", name="Mairie")
DIRECTORY = [
    AgentRecord(id="alice", name="Alice Martin", softphone="1001", hotlines={"etat-civil": 0}),
    AgentRecord(id="bruno", name="Bruno Petit", softphone="1002", hotlines={"etat-civil": 0}),
    AgentRecord(id="damien", name="Damien Roux", mobile="+33612000001", hotlines={"astreinte": 0}),
]


class PhoneAri(StubAri):
    """StubAri plus what an agent's call needs: the calling channel's name, endpoint states, ringback, and
    prompts that finish at once (PlaybackFinished delivered to the call)."""

    def __init__(self, online: dict[str, list[str]] | None = None) -> None:
        super().__init__()
        self.online = online if online is not None else {"1002": []}  # extension -> its channels
        self.session: CallSession | None = None
        self.gone: set[str] = set()  # channels that no longer exist

    async def channel(self, channel_id: str) -> Channel:
        if channel_id in self.gone:
            raise ResourceGone(404, "Channel not found", "GET", f"/channels/{channel_id}")
        return Channel(id=channel_id, name="PJSIP/1001-00000003", state="Ring")

    async def request(self, method: str, path: str, **_kw):
        extension = path.rsplit("/", 1)[-1]
        if extension not in self.online:
            raise ResourceGone(404, "Endpoint not found", method, path)
        return {"state": "online", "channel_ids": self.online[extension]}

    async def ring(self, channel_id: str) -> None:
        self.calls.append(("ring", channel_id))

    async def ring_stop(self, channel_id: str) -> None:
        self.calls.append(("ring_stop", channel_id))

    async def play(self, channel_id: str, media, *, lang=None, playback_id=None) -> str:
        self.calls.append(("play", channel_id, *media))
        assert self.session is not None
        done = PlaybackFinished(type="PlaybackFinished", playback=Playback(id=playback_id or "p"))
        asyncio.get_running_loop().call_soon(self.session.deliver, done)
        return playback_id or "p"


def agent_call(ari: PhoneAri, dialled: str) -> CallSession:
    call = CallSession(
        channel=Channel(id="c1", name="PJSIP/1001-00000003", state="Ring"),
        kind="internal",
        dialled=dialled,
        ari=ari,  # type: ignore[arg-type]
        clock=Clock(zone=ZoneInfo("Europe/Paris")),
    )
    ari.session = call
    return call


def agent_calls(layer: StateLayer, ari: PhoneAri) -> AgentCalls:
    policy = DialOutPolicy.build("FR", ["fixed_line", "mobile"])
    return AgentCalls(ari=ari, state=layer, identity=PUBLIC, policy=policy, ring_timeout=5)  # type: ignore[arg-type]


def test_the_calling_agent_is_the_pjsip_endpoint_of_her_channel() -> None:
    """ "PJSIP/1001-00000003" is softphone 1001; anything else is no softphone; her name is shown as the directory
    gives it, with her extension."""
    assert softphone_of("PJSIP/1001-00000003") == "1001"
    assert softphone_of("PJSIP/agent-1001-0000000a") == "agent-1001"
    assert softphone_of("Local/1001@x-00000001;1") is None
    assert softphone_of("PJSIP/") is None
    assert shown_as(DIRECTORY[0]) == '"Alice Martin" <1001>'


async def test_agent_is_found_by_her_softphone_extension(state) -> None:
    """The directory in Redis answers "whose softphone is 1002?"; an extension nobody has gives None."""
    layer, _redis = state
    await layer.agents.sync_agents(DIRECTORY)
    found = await layer.agents.find_by_softphone("1002")
    assert found is not None and (found.id, found.name) == ("bruno", "Bruno Petit")
    assert await layer.agents.find_by_softphone("1999") is None
    assert await layer.agents.find_by_softphone("+33612000001") is None  # a mobile is no extension


async def test_colleague_rings_with_callers_name_both_are_on_call_and_free_again_after(state) -> None:
    """1001 -> 1002: ringback to alice, bruno's phone shows "Alice Martin" <1001>, both on_call while it lasts,
    bridged once he answers; when he hangs up both get their states back (bruno available again)."""
    layer, _redis = state
    await layer.agents.sync_agents(DIRECTORY)
    await layer.agents.login("bruno", Device.SOFTPHONE)
    ari = PhoneAri()
    call = agent_call(ari, "1002")
    task = asyncio.create_task(agent_calls(layer, ari).handle(call))
    await eventually(lambda: ari.named("originate"))
    _, endpoint, leg_id, caller_id = ari.named("originate")[0]
    assert (endpoint, caller_id) == ("PJSIP/1002", '"Alice Martin" <1001>')
    assert ari.named("ring")
    assert (await layer.agents.get_state("bruno")).status.value == "on_call"
    assert (await layer.agents.get_state("alice")).status.value == "on_call"

    call.deliver(StasisStart(type="StasisStart", channel=Channel(id=leg_id)))
    await eventually(lambda: ari.named("add_channel"))
    assert ari.named("add_channel")[0][2:] == ("c1", leg_id)
    call.deliver(ChannelDestroyed(type="ChannelDestroyed", channel=Channel(id=leg_id), cause=16))
    await asyncio.wait_for(task, 2)
    await call.cleanup()
    assert (await layer.agents.get_state("bruno")).status.value == "available"
    assert (await layer.agents.get_state("alice")).status.value == "logged_out"
    assert (call.facts.agent, call.facts.callee, call.facts.reached) == ("alice", "bruno", True)
    assert decide(Ending.FLOW_DONE, call.facts) is Outcome.ANSWERED


async def test_busy_colleague_gets_the_busy_prompt_and_is_never_rung(state) -> None:
    """A colleague on a call (presence on_call) or whose phone has a call: the busy prompt, no originate."""
    layer, _redis = state
    await layer.agents.sync_agents(DIRECTORY)
    await layer.agents.begin_own_call("bruno", "other-call")
    ari = PhoneAri()
    call = agent_call(ari, "1002")
    await agent_calls(layer, ari).handle(call)
    assert not ari.named("originate")
    assert ("play", "c1", "sound:callcontrol/own-call-busy") in ari.calls
    assert ari.named("hangup")  # a clean hangup after the prompt
    assert (await layer.agents.get_state("alice")).status.value == "logged_out"  # never marked

    ari = PhoneAri(online={"1002": ["someone-else"]})
    await layer.agents.end_own_call("bruno", "other-call")
    await agent_calls(layer, ari).handle(agent_call(ari, "1002"))
    assert not ari.named("originate") and ("play", "c1", "sound:callcontrol/own-call-busy") in ari.calls


async def test_unregistered_colleague_and_unknown_extension_get_their_prompts(state) -> None:
    """A colleague whose phone is not registered: "cannot be reached"; an extension nobody has: "not assigned"."""
    layer, _redis = state
    await layer.agents.sync_agents(DIRECTORY)
    ari = PhoneAri(online={})
    await agent_calls(layer, ari).handle(agent_call(ari, "1002"))
    assert ("play", "c1", "sound:callcontrol/own-call-unreachable") in ari.calls
    ari = PhoneAri()
    await agent_calls(layer, ari).handle(agent_call(ari, "1999"))
    assert ("play", "c1", "sound:callcontrol/own-call-unknown") in ari.calls
    assert not ari.named("originate")


async def test_outside_number_leaves_with_the_public_identity_and_premium_rate_is_refused(state) -> None:
    """0612345678 is dialled through the carrier as "Mairie" <+33556000000>, not linked to the agent's channel;
    0899... gets the refusal prompt; the facts keep the number masked only; a refused call is not `answered`."""
    layer, _redis = state
    await layer.agents.sync_agents(DIRECTORY)
    ari = PhoneAri()
    call = agent_call(ari, "0612345678")
    task = asyncio.create_task(agent_calls(layer, ari).handle(call))
    await eventually(lambda: ari.named("originate"))
    _, endpoint, leg_id, caller_id = ari.named("originate")[0]
    assert (endpoint, caller_id) == ("PJSIP/+33612345678@carrier", '"Mairie" <+33556000000>')
    assert "1001" not in caller_id and "Alice" not in caller_id
    call.deliver(ChannelDestroyed(type="ChannelDestroyed", channel=Channel(id=leg_id), cause=17))  # busy
    await asyncio.wait_for(task, 2)
    assert ("play", "c1", "sound:callcontrol/own-call-busy") in ari.calls
    assert call.facts.callee == "+33 6•• •• •• 78" and call.facts.reached is False
    assert decide(Ending.FLOW_DONE, call.facts) is Outcome.COMPLETED

    ari = PhoneAri()
    call = agent_call(ari, "0899123456")
    await agent_calls(layer, ari).handle(call)
    assert not ari.named("originate")
    assert ("play", "c1", "sound:callcontrol/dial-out-refused") in ari.calls
    assert "899123456" not in str(call.path) and "899123456" not in str(call.facts)


async def test_a_mark_left_by_a_call_that_no_longer_exists_is_released_and_the_colleague_rings(state) -> None:
    """bruno still marked on_call for a call whose channel is gone (every instance stopped during it): that mark
    is released and he rings, instead of being "busy" forever."""
    layer, _redis = state
    await layer.agents.sync_agents(DIRECTORY)
    await layer.agents.begin_own_call("bruno", "vanished-call")
    ari = PhoneAri()
    ari.gone.add("vanished-call")
    call = agent_call(ari, "1002")
    task = asyncio.create_task(agent_calls(layer, ari).handle(call))
    await eventually(lambda: ari.named("originate"))
    assert await layer.agents.own_call_of("bruno") == "c1"
    task.cancel()
    await asyncio.gather(task, return_exceptions=True)
    await call.cleanup()
    assert await layer.agents.own_call_of("bruno") is None
