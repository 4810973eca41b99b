"""EventStream against the fake ARI websocket: typed events, reconnection, resilience to bad input and bad handlers."""

import asyncio
import random
from collections.abc import AsyncIterator, Callable

import aiohttp
import pytest
from fakes import FakeAri, free_port
from structlog.testing import capture_logs

from callcontrol.ari.connection import AriConnection
from callcontrol.ari.events import Backoff, EventStream
from callcontrol.ari.models import ChannelDtmfReceived, Event, StasisStart

TINY = Backoff(initial=0.01, factor=2.0, maximum=0.02, jitter=0.5)


class Recorder:
    """An event handler that keeps what it got; optionally raises for some events."""

    def __init__(self, fail_on: Callable[[Event], bool] = lambda e: False):
        self.events: asyncio.Queue[Event] = asyncio.Queue()
        self.fail_on = fail_on

    async def __call__(self, event: Event) -> None:
        if self.fail_on(event):
            raise RuntimeError("handler bug")
        await self.events.put(event)

    async def next(self, timeout: float = 1.0) -> Event:
        async with asyncio.timeout(timeout):
            return await self.events.get()


@pytest.fixture
def stream_factory(fake_ari: FakeAri, http: aiohttp.ClientSession) -> Callable[..., EventStream]:
    def make(backoff: Backoff = TINY) -> EventStream:
        return EventStream(
            http,
            fake_ari.connection(),
            backoff=backoff,
            rng=random.Random(7),
        )

    return make


@pytest.fixture
async def running() -> AsyncIterator[Callable[..., asyncio.Task[None]]]:
    """Start stream.run() in a task; cancelled at the end of the test."""
    tasks: list[asyncio.Task[None]] = []

    def start(stream: EventStream, handler, on_connect=None) -> asyncio.Task[None]:
        task = asyncio.create_task(stream.run(handler, on_connect))
        tasks.append(task)
        return task

    yield start
    for task in tasks:
        task.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)


async def test_events_arrive_typed(fake_ari: FakeAri, stream_factory, running):
    """Asterisk's JSON events reach the handler as typed dataclasses, in order."""
    fake_ari.add_channel("c1", args=("inbound", "0556000000"))
    recorder = Recorder()
    running(stream_factory(), recorder)
    await fake_ari.wait_connections(1)
    await fake_ari.push(fake_ari.stasis_start("c1"), fake_ari.dtmf("c1", "5"))
    first, second = await recorder.next(), await recorder.next()
    assert isinstance(first, StasisStart)
    assert (first.channel.id, first.args, first.application) == ("c1", ("inbound", "0556000000"), "callcontrol")
    assert isinstance(second, ChannelDtmfReceived) and second.digit == "5"


async def test_websocket_sends_app_and_authorization(fake_ari: FakeAri, stream_factory, running):
    """The websocket subscribes to our app only and authenticates with a header, not api_key."""
    running(stream_factory(), Recorder())
    await fake_ari.wait_connections(1)
    request = fake_ari.last("GET", "/events")
    assert request.query == {"app": "callcontrol", "subscribeAll": "false"}
    assert request.headers["Authorization"].startswith("Basic ")
    assert fake_ari.password not in request.url


async def test_reconnects_by_itself_after_drop_and_calls_on_connect_again(fake_ari, stream_factory, running):
    """When Asterisk drops the websocket, the stream reconnects on its own and runs on_connect again."""
    connects: list[int] = []
    recorder = Recorder()
    stream = stream_factory()

    async def on_connect() -> None:
        connects.append(stream.connections)

    running(stream, recorder, on_connect)
    await fake_ari.wait_connections(1)
    await fake_ari.drop_websockets()
    await fake_ari.wait_connections(2)
    await fake_ari.push(fake_ari.dtmf("c1", "1"))
    assert isinstance(await recorder.next(), ChannelDtmfReceived)
    assert connects == [1, 2]
    assert stream.connections == 2


async def test_keeps_retrying_while_asterisk_is_down(fake_ari: FakeAri, http, running):
    """While Asterisk refuses the websocket, the stream keeps retrying and connects as soon as it can."""
    fake_ari.fail("GET", "/events", 503, "Service Unavailable", times=3)
    stream = EventStream(http, fake_ari.connection(), backoff=TINY)
    with capture_logs() as logs:
        running(stream, Recorder())
        await fake_ari.wait_connections(1)
    failures = [entry for entry in logs if entry["event"] == "ari_connect_failed"]
    assert len(failures) == 3
    assert len(fake_ari.find("GET", "/events")) == 4


async def test_reconnect_delays_are_jittered_and_bounded_by_maximum():
    """Reconnection delays grow exponentially with jitter but never exceed Backoff.maximum."""
    backoff = Backoff(initial=0.01, factor=2.0, maximum=0.5, jitter=0.5)
    rng = random.Random(1)
    delays = [backoff.delay(attempt, rng) for attempt in range(1, 40)]
    assert all(0 < d <= backoff.maximum for d in delays)
    assert 0.005 <= delays[0] <= 0.01
    assert all(d >= backoff.maximum * (1 - backoff.jitter) for d in delays[10:])
    assert len({round(d, 6) for d in delays[10:]}) > 1  # jitter: instances do not reconnect in lockstep


async def test_backoff_survives_a_very_long_outage():
    """After an hour-long Asterisk outage (>1024 attempts) the delay is still Backoff.maximum."""
    backoff = Backoff()
    assert backoff.delay(1100, random.Random(1)) <= backoff.maximum


class _CountingRng(random.Random):
    """Counts reconnection attempts (Backoff.delay draws one random number per attempt)."""

    def __init__(self, target: int):
        super().__init__(3)
        self.count = 0
        self.reached = asyncio.Event()
        self.target = target

    def random(self) -> float:
        self.count += 1
        if self.count >= self.target:
            self.reached.set()
        return super().random()


async def test_event_stream_outlives_a_long_outage(http, running):
    """An Asterisk outage of more than 1024 reconnection attempts never kills the event stream task."""
    rng = _CountingRng(target=1100)
    stream = EventStream(
        http, AriConnection(f"http://127.0.0.1:{free_port()}", "u", "p", "callcontrol"),
        backoff=Backoff(initial=1e-7, maximum=1e-7, jitter=0.5), rng=rng,
    )  # fmt: skip
    with capture_logs():
        task = running(stream, Recorder())
        waiter = asyncio.create_task(rng.reached.wait())
        await asyncio.wait({task, waiter}, timeout=30, return_when=asyncio.FIRST_COMPLETED)  # returns once reached
        waiter.cancel()
    assert rng.count >= 1100
    assert not task.done(), task.exception()


async def test_handler_exception_does_not_stop_the_stream(fake_ari: FakeAri, stream_factory, running):
    """A handler raising on one event is logged; the next events are still delivered."""
    recorder = Recorder(fail_on=lambda e: isinstance(e, ChannelDtmfReceived) and e.digit == "1")
    with capture_logs() as logs:
        running(stream_factory(), recorder)
        await fake_ari.wait_connections(1)
        await fake_ari.push(fake_ari.dtmf("c1", "1"), fake_ari.dtmf("c1", "2"))
        event = await recorder.next()
    assert isinstance(event, ChannelDtmfReceived) and event.digit == "2"
    [failure] = [entry for entry in logs if entry["event"] == "ari_event_handler_failed"]
    assert failure["event_type"] == "ChannelDtmfReceived"
    assert fake_ari.connections == 1  # no reconnection was needed


async def test_on_connect_exception_does_not_stop_the_stream(fake_ari: FakeAri, stream_factory, running):
    """A failing on_connect (e.g. reconcile hitting an error) is logged and events still flow."""
    recorder = Recorder()

    async def on_connect() -> None:
        raise RuntimeError("reconcile failed")

    with capture_logs() as logs:
        running(stream_factory(), recorder, on_connect)
        await fake_ari.wait_connections(1)
        await fake_ari.push(fake_ari.dtmf("c1", "3"))
        assert isinstance(await recorder.next(), ChannelDtmfReceived)
    assert any(entry["event"] == "ari_on_connect_failed" for entry in logs)


async def test_malformed_messages_are_skipped(fake_ari: FakeAri, stream_factory, running):
    """A message that is not JSON (or not a JSON object) is logged and skipped; the stream goes on."""
    recorder = Recorder()
    with capture_logs() as logs:
        running(stream_factory(), recorder)
        await fake_ari.wait_connections(1)
        await fake_ari.send_raw("{not json")
        await fake_ari.send_raw("[1, 2, 3]")
        await fake_ari.push(fake_ari.dtmf("c1", "9"))
        event = await recorder.next()
    assert isinstance(event, ChannelDtmfReceived) and event.digit == "9"
    assert recorder.events.empty()
    assert [entry["event"] for entry in logs].count("ari_bad_event") == 1
    assert fake_ari.connections == 1


async def test_application_replaced_is_logged_and_retried_slower(fake_ari: FakeAri, stream_factory, running):
    """ApplicationReplaced logs an error and waits the long `replaced` delay before retrying, unlike a plain drop."""
    backoff = Backoff(initial=0.001, factor=2.0, maximum=0.05, jitter=0.0, replaced=0.1)
    stream = stream_factory(backoff)
    with capture_logs() as logs:
        running(stream, Recorder())
        await fake_ari.wait_connections(1)
        await fake_ari.drop_websockets()  # a plain drop: quick retry
        await fake_ari.wait_connections(2)
        await fake_ari.push({"type": "ApplicationReplaced"})
        loop = asyncio.get_running_loop()
        started = loop.time()
        await fake_ari.wait_connections(3)
        waited = loop.time() - started
    replaced = [entry for entry in logs if entry["event"] == "ari_application_replaced"]
    assert [(r["log_level"], r["retry_in"]) for r in replaced] == [("error", 0.1)]
    retries = [entry for entry in logs if entry["event"] == "ari_reconnecting"]
    assert [r["delay"] for r in retries] == [0.0]  # only the plain drop went through the quick backoff
    assert waited >= 0.09
