"""AriClient against the fake ARI: what goes on the wire, and Asterisk's errors as typed exceptions."""

import aiohttp
import pytest
from fakes import FakeAri, free_port

from callcontrol.ari.client import AriClient
from callcontrol.ari.connection import AriConnection
from callcontrol.ari.errors import AriUnavailable, BadRequest, ChannelGone, NotInStasis, PlaybackGone


@pytest.fixture
def client(fake_ari: FakeAri, http: aiohttp.ClientSession) -> AriClient:
    return AriClient(http, fake_ari.connection(request_timeout=2))


async def test_credentials_travel_in_authorization_header_not_url(fake_ari: FakeAri, client: AriClient):
    """Credentials go in the Authorization header; no api_key or password ever appears in a URL."""
    fake_ari.add_channel("c1")
    await client.answer("c1")
    request = fake_ari.last("POST", "/channels/c1/answer")
    assert request.headers["Authorization"].startswith("Basic ")
    assert "api_key" not in request.query
    assert fake_ari.password not in request.url


async def test_404_on_channel_is_channel_gone_with_asterisk_message(fake_ari: FakeAri, client: AriClient):
    """A 404 on a channel raises ChannelGone carrying Asterisk's own message."""
    with pytest.raises(ChannelGone) as caught:
        await client.answer("vanished")
    assert caught.value.status == 404
    assert caught.value.message == "Channel not found"
    assert "Channel not found" in str(caught.value)


async def test_404_on_playback_is_playback_gone(fake_ari: FakeAri, client: AriClient):
    """A 404 when stopping a finished playback raises PlaybackGone (not ChannelGone)."""
    with pytest.raises(PlaybackGone):
        await client.stop_playback("long-finished")


async def test_409_is_not_in_stasis(fake_ari: FakeAri, client: AriClient):
    """A 409 (channel not in our Stasis app) raises NotInStasis with Asterisk's message."""
    fake_ari.add_channel("c1", in_stasis=False)
    with pytest.raises(NotInStasis) as caught:
        await client.answer("c1")
    assert caught.value.message == "Channel not in Stasis application"


async def test_400_is_bad_request(fake_ari: FakeAri, client: AriClient):
    """A 400 raises BadRequest with Asterisk's explanation."""
    fake_ari.add_channel("c1")
    fake_ari.fail("POST", "/channels/c1/play/*", 400, "Invalid media URI")
    with pytest.raises(BadRequest) as caught:
        await client.play("c1", "bogus:thing", playback_id="p1")
    assert caught.value.message == "Invalid media URI"


async def test_500_is_ari_unavailable(fake_ari: FakeAri, client: AriClient):
    """A 5xx from Asterisk raises AriUnavailable (retry later), keeping the message."""
    fake_ari.fail("GET", "/channels", 500, "Internal Server Error")
    with pytest.raises(AriUnavailable) as caught:
        await client.channels()
    assert caught.value.status == 500
    assert caught.value.message == "Internal Server Error"


async def test_error_without_json_body_keeps_raw_text(fake_ari: FakeAri, client: AriClient):
    """An error with an empty body still raises the typed error with a readable message."""
    fake_ari.fail("GET", "/channels", 503, None)
    with pytest.raises(AriUnavailable) as caught:
        await client.channels()
    assert caught.value.message == "(no message)"


async def test_connection_refused_is_ari_unavailable(http: aiohttp.ClientSession):
    """Asterisk not listening raises AriUnavailable, not a raw aiohttp error."""
    client = AriClient(http, AriConnection(f"http://127.0.0.1:{free_port()}", "u", "p", "cc", request_timeout=2))
    with pytest.raises(AriUnavailable) as caught:
        await client.answer("c1")
    assert caught.value.status == 0
    assert "unreachable" in caught.value.message


async def test_play_sends_comma_joined_media_and_language(fake_ari: FakeAri, client: AriClient):
    """play() sends the media list comma-joined with the language and returns the playback id."""
    fake_ari.add_channel("c1")
    playback_id = await client.play("c1", ["sound:callcontrol/welcome", "digits:42"], lang="fr", playback_id="pb-1")
    assert playback_id == "pb-1"
    request = fake_ari.last("POST", "/channels/c1/play/pb-1")
    assert request.query == {"media": "sound:callcontrol/welcome,digits:42", "lang": "fr"}


async def test_play_without_id_returns_asterisk_playback_id(fake_ari: FakeAri, client: AriClient):
    """play() without an id returns the id Asterisk chose; an unset language is not sent."""
    fake_ari.add_channel("c1")
    playback_id = await client.play("c1", "sound:beep")
    assert playback_id in fake_ari.playbacks
    assert fake_ari.last("POST", "/channels/c1/play").query == {"media": "sound:beep"}


async def test_originate_passes_app_args_caller_id_channel_id_and_variables(fake_ari: FakeAri, client: AriClient):
    """originate() enters our app with appArgs, callerId, channelId; variables travel in the JSON body."""
    channel = await client.originate(
        "PJSIP/agent-1",
        channel_id="leg-1",
        app_args="agent-leg,call-1",
        caller_id='"Mairie" <+33556000000>',
        timeout=20,
        variables={"CALLCONTROL_CALL": "call-1"},
    )
    assert channel.id == "leg-1"
    request = fake_ari.last("POST", "/channels")
    assert request.query == {
        "endpoint": "PJSIP/agent-1",
        "app": "callcontrol",
        "appArgs": "agent-leg,call-1",
        "callerId": '"Mairie" <+33556000000>',
        "timeout": "20",
        "channelId": "leg-1",
    }
    assert request.body == {"variables": {"CALLCONTROL_CALL": "call-1"}}


async def test_hangup_and_channels_listing(fake_ari: FakeAri, client: AriClient):
    """channels() lists typed channels with caller and Stasis args; hangup() removes the channel."""
    fake_ari.add_channel("c1", caller="0612345678", args=("inbound", "0556000000"))
    [channel] = await client.channels()
    assert (channel.id, channel.caller.number, channel.app_name) == ("c1", "0612345678", "Stasis")
    assert channel.app_data == "callcontrol,inbound,0556000000"
    await client.hangup("c1", reason="busy")
    assert fake_ari.last("DELETE", "/channels/c1").query == {"reason": "busy"}
    assert await client.channels() == []
