"""REST requests over the events websocket (RESTRequest / RESTResponse) against the fake ARI, and HTTP whenever
the websocket cannot carry them."""

from __future__ import annotations

import asyncio
import random
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field

import aiohttp
import pytest
from fakes import FakeAri, JsonLogs

from callcontrol.ari.client import AriClient
from callcontrol.ari.errors import AriUnavailable, BadRequest, ChannelGone, NotInStasis
from callcontrol.ari.events import Backoff, EventStream
from callcontrol.ari.models import Event, StasisStart
from callcontrol.ari.ws_rest import WsRest


@dataclass
class Wired:
    """A client and an event stream sharing one websocket transport, as app.py wires them."""

    fake: FakeAri
    rest: WsRest
    client: AriClient
    stream: EventStream
    observed: list[tuple[str, str, bool]] = field(default_factory=list)  # method, path, answered
    task: asyncio.Task[None] | None = None

    def start(self, handler: Callable[[Event], object] | None = None) -> None:
        async def ignore(event: Event) -> None:
            return None

        self.task = asyncio.create_task(self.stream.run(handler or ignore))  # type: ignore[arg-type]

    async def carried_by_websocket(self, timeout: float = 2.0) -> None:
        async with asyncio.timeout(timeout):
            while self.rest.pick() is None:  # noqa: ASYNC110 (the probe runs in the stream's task)
                await asyncio.sleep(0.005)

    def transports(self, method: str, path: str) -> list[str]:
        return [r.transport for r in self.fake.find(method, path)]


@pytest.fixture
async def wired(fake_ari: FakeAri, http: aiohttp.ClientSession) -> AsyncIterator[Wired]:
    rest = WsRest(probe_timeout=0.2)
    observed: list[tuple[str, str, bool]] = []
    client = AriClient(
        http, fake_ari.connection(request_timeout=0.5),
        on_request=lambda method, path, seconds, answered: observed.append((method, path, answered)), ws_rest=rest,
    )  # fmt: skip
    stream = EventStream(
        http, fake_ari.connection(),
        backoff=Backoff(initial=0.01, maximum=0.02), rng=random.Random(3), ws_rest=rest,
    )  # fmt: skip
    w = Wired(fake_ari, rest, client, stream, observed)
    yield w
    if w.task is not None:
        w.task.cancel()
        await asyncio.gather(w.task, return_exceptions=True)


async def test_requests_go_over_the_websocket_and_each_answer_reaches_its_own_request(wired: Wired):
    """Once the websocket carries requests, concurrent requests travel as RESTRequest messages and each caller gets
    its own answer (JSON bodies, 204s, query strings with quotes, '+' and commas, a JSON request body)."""
    fake = wired.fake
    for channel_id in ("c1", "c2", "c3"):
        fake.add_channel(channel_id)
    wired.start()
    await wired.carried_by_websocket()
    channel, playback, answered, fetched = await asyncio.gather(
        wired.client.originate(
            "PJSIP/agent-1", channel_id="leg-1", caller_id='"Mairie" <+33556000000>', variables={"X": "1"}
        ),
        wired.client.play("c2", ["sound:a", "digits:42"], lang="fr", playback_id="pb-2"),
        wired.client.answer("c3"),
        wired.client.channel("c1"),
    )
    assert (channel.id, playback, answered, fetched.id) == ("leg-1", "pb-2", None, "c1")
    originate = fake.last("POST", "/channels")
    assert originate.transport == "websocket"
    assert originate.query["callerId"] == '"Mairie" <+33556000000>'
    assert originate.body == {"variables": {"X": "1"}}
    assert fake.last("POST", "/channels/c2/play/pb-2").query == {"media": "sound:a,digits:42", "lang": "fr"}
    assert [r.transport for r in fake.requests if r.path != "/events"] == ["websocket"] * 5  # the probe + 4
    assert ("POST", "/channels/c3/answer", True) in wired.observed


async def test_asterisk_errors_over_the_websocket_are_the_same_typed_errors(wired: Wired):
    """A 404, 409, 400 or 500 answered over the websocket raises the same typed error, with Asterisk's message,
    as over HTTP."""
    fake = wired.fake
    fake.add_channel("away", in_stasis=False)
    fake.add_channel("c1")
    wired.start()
    await wired.carried_by_websocket()
    with pytest.raises(ChannelGone) as gone:
        await wired.client.answer("vanished")
    with pytest.raises(NotInStasis):
        await wired.client.answer("away")
    fake.fail("POST", "/channels/c1/play/*", 400, "Invalid media URI")
    with pytest.raises(BadRequest) as bad:
        await wired.client.play("c1", "bogus:x", playback_id="p1")
    fake.fail("POST", "/channels/c1/answer", 500, "Internal Server Error")
    with pytest.raises(AriUnavailable) as down:
        await wired.client.answer("c1")
    assert (gone.value.message, bad.value.message, down.value.status) == ("Channel not found", "Invalid media URI", 500)
    assert set(wired.transports("POST", "/channels/*")) == {"websocket"}


async def test_a_request_unanswered_in_time_is_ari_unavailable_and_the_next_ones_take_http(wired: Wired):
    """A request whose RESTResponse does not come within the request timeout fails with AriUnavailable (observed
    as unanswered), and the following requests go over HTTP instead of each waiting out the timeout."""
    wired.fake.add_channel("c1")
    wired.start()
    await wired.carried_by_websocket()
    wired.fake.answers_ws_requests = False
    with pytest.raises(AriUnavailable) as caught:
        await wired.client.answer("c1")
    assert caught.value.status == 0
    assert wired.observed[-1] == ("POST", "/channels/c1/answer", False)
    await wired.client.answer("c1")
    assert wired.transports("POST", "/channels/c1/answer") == ["websocket", "http"]


async def test_a_request_answered_after_its_timeout_still_says_what_asterisk_did(wired: Wired):
    """A request Asterisk carries out after our timeout (a saturated Asterisk) fails at the timeout, and its late
    answer's status is still delivered (`late`): an originate's leg that rings after all is known."""
    wired.fake.add_channel("c1")
    wired.start()
    await wired.carried_by_websocket()
    slow = wired.fake.hold("POST", "/channels/c1/answer")
    with pytest.raises(AriUnavailable) as caught:
        await wired.client.answer("c1")
    assert caught.value.late is not None and not caught.value.late.done()
    slow.set()
    async with asyncio.timeout(2):
        assert await caught.value.late == 204


async def test_a_websocket_drop_fails_the_requests_it_carried_and_http_carries_the_next(wired: Wired):
    """Requests out on the websocket when it drops fail at once with AriUnavailable (not after the timeout); while
    it reconnects requests go over HTTP, and over the new websocket once it is probed."""
    fake = wired.fake
    fake.add_channel("c1")
    wired.start()
    await wired.carried_by_websocket()
    fake.answers_ws_requests = False
    out = asyncio.create_task(wired.client.answer("c1"))
    while not fake.find("POST", "/channels/c1/answer"):  # noqa: ASYNC110 (the fake records it)
        await asyncio.sleep(0.002)
    loop = asyncio.get_running_loop()
    dropped = loop.time()
    await fake.drop_websockets()
    with pytest.raises(AriUnavailable) as caught:
        await out
    assert loop.time() - dropped < 0.3  # well before the 0.5 s request timeout
    assert "closed" in caught.value.message
    fake.answers_ws_requests = True
    await wired.client.answer("c1")  # the websocket is not probed again yet: HTTP
    await fake.wait_connections(2)
    await wired.carried_by_websocket()
    await wired.client.answer("c1")
    assert wired.transports("POST", "/channels/c1/answer") == ["websocket", "http", "websocket"]


async def test_a_handler_awaiting_a_rest_call_over_the_websocket_completes(wired: Wired):
    """An event handler that awaits REST calls (answer, then play) gets their answers, which come in on the very
    websocket its event came from, and the next event is handled after it, in order."""
    fake = wired.fake
    fake.add_channel("c1")
    fake.add_channel("c2")
    done: list[str] = []

    async def handler(event: Event) -> None:
        if isinstance(event, StasisStart):
            await wired.client.answer(event.channel.id)
            await wired.client.play(event.channel.id, "sound:hello", playback_id=f"pb-{event.channel.id}")
            done.append(event.channel.id)

    wired.start(handler)
    await wired.carried_by_websocket()
    await fake.push(fake.stasis_start("c1"), fake.stasis_start("c2"))
    async with asyncio.timeout(2):
        while len(done) < 2:  # noqa: ASYNC110 (the stream's dispatch task fills it)
            await asyncio.sleep(0.005)
    assert done == ["c1", "c2"]
    assert set(wired.transports("POST", "/channels/*")) == {"websocket"}


async def test_before_the_websocket_is_up_and_for_listings_requests_take_http(wired: Wired):
    """With no websocket yet, a request goes over HTTP instead of failing; listings (GET /channels) always go over
    HTTP (no frame size cap, and they would hold up the requests behind them on the socket)."""
    wired.fake.add_channel("c1")
    await wired.client.answer("c1")
    wired.start()
    await wired.carried_by_websocket()
    assert [c.id for c in await wired.client.channels()] == ["c1"]
    assert wired.transports("POST", "/channels/c1/answer") == ["http"]
    assert wired.transports("GET", "/channels") == ["http"]


async def test_an_asterisk_without_rest_over_websocket_gets_http_and_one_log_line(wired: Wired, json_logs: JsonLogs):
    """An Asterisk that ignores RESTRequest (one without the feature) is detected by the probe: one warning, and every
    request goes over HTTP."""
    wired.fake.answers_ws_requests = False
    wired.fake.add_channel("c1")
    wired.start()
    await wired.fake.wait_connections(1)
    async with asyncio.timeout(2):
        while wired.rest.supported is None:  # noqa: ASYNC110 (the probe runs in the stream's task)
            await asyncio.sleep(0.01)
    await wired.client.answer("c1")
    assert wired.rest.supported is False
    assert wired.transports("POST", "/channels/c1/answer") == ["http"]
    assert [line["app"] for line in json_logs.events("ari_rest_over_websocket_unavailable")] == ["callcontrol"]
