"""The harness's own phones behave like phones: checked against Asterisk through a throw-away ARI application."""

import asyncio

import pytest
from harness import Ari, AriEvents

pytestmark = pytest.mark.integration

APP = "callcontrol-harness"  # never "callcontrol": that would replace a running instance's websocket
MAIRIE = '"Mairie" <+33556000000>'


def originate(ari: Ari, endpoint: str, timeout: int = 10) -> dict:
    return ari.post("channels", endpoint=endpoint, app=APP, callerId=MAIRIE, timeout=timeout)


async def test_given_registered_agent_phone_when_called_then_it_answers_hears_audio_and_presses_1(people, ari: Ari):
    """An agent phone answers a call to its registration, receives the prompt's RTP and sends DTMF 1 (RFC 4733)."""
    phone = people.agent("1002", answer_after=0.2, dtmf_after_answer=[(0.3, "1")])
    async with AriEvents(APP) as events:
        channel = originate(ari, "PJSIP/1002")
        await events.next("StasisStart", where=lambda e: e["channel"]["id"] == channel["id"])
        ari.post(f"channels/{channel['id']}/play", media="sound:callcontrol/welcome")
        dtmf = await events.next("ChannelDtmfReceived", where=lambda e: e["channel"]["id"] == channel["id"])
        assert dtmf["digit"] == "1"
        await asyncio.sleep(0.5)
    assert phone.audio_received >= 20, phone.describe()
    invite = phone.received("INVITE")[0]
    assert "+33556000000" in invite.from_ and "+33556000000" in (invite.pai or ""), invite.text


async def test_given_ringing_phone_when_caller_gives_up_then_phone_gets_cancel(people, ari: Ari):
    """A phone in "ring" mode never answers; Asterisk's originate timeout CANCELs it (a no-answer)."""
    phone = people.agent("1003", mode="ring")
    async with AriEvents(APP) as events:
        channel = originate(ari, "PJSIP/1003", timeout=1)
        gone = await events.next("ChannelDestroyed", where=lambda e: e["channel"]["id"] == channel["id"])
    phone.wait_until(lambda: phone.received("CANCEL"), 2, "CANCEL received")
    assert not phone.answered
    assert gone["cause"] in (19, 21, 16), gone  # no answer / (call rejected) / normal clearing


async def test_given_busy_carrier_when_asterisk_calls_a_mobile_then_486(people, ari: Ari):
    """A carrier UAS in "busy" mode refuses the INVITE with 486; Asterisk reports the channel busy (cause 17)."""
    carrier = people.carrier(mode="busy")
    async with AriEvents(APP) as events:
        channel = originate(ari, "PJSIP/+33612000002@carrier")
        gone = await events.next("ChannelDestroyed", where=lambda e: e["channel"]["id"] == channel["id"])
    assert gone["cause"] == 17, gone
    assert carrier.received("INVITE")[0].request_uri.startswith("sip:+33612000002@"), carrier.describe()
