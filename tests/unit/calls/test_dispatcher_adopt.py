"""CallDispatcher: a channel moved to us from a dead instance (takeover) starts as an adopted call."""

from fakes import FakeAri

from calls.harness import eventually
from calls.test_dispatcher import waiting_handler


async def test_channel_moved_from_a_dead_instance_starts_as_a_resumed_call(harness, fake_ari: FakeAri):
    """The StasisStart of a channel the takeover moved to us is an adoption (resumed=True), so routing carries the
    citizen on at their place in the queue instead of running the welcome flow again; other calls stay new."""
    h = await harness({"inbound": waiting_handler()})
    h.dispatcher.expect_adopted("moved1")
    await h.call("moved1")
    await h.call("fresh1")
    assert h.session("moved1").resumed is True
    assert h.session("fresh1").resumed is False
    h.dispatcher.forget_adopted("moved1")  # harmless once consumed
    await fake_ari.push(fake_ari.dtmf("moved1", "1"))
    await eventually(lambda: "moved1" in h.ended)
