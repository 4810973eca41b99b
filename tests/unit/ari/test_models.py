"""parse_event: typed events for what we use, never an exception on odd input; channel routing ids."""

from typing import Any

import pytest

from callcontrol.ari.models import (
    HANDLED_TYPES,
    ChannelDtmfReceived,
    ChannelHangupRequest,
    Event,
    PlaybackFinished,
    RecordingFinished,
    StasisStart,
    parse_event,
)

ODD_INPUTS: list[dict[str, Any]] = [
    {},
    {"type": None},
    {"type": "StasisStart"},
    {"type": "StasisStart", "channel": "not-a-dict"},
    {"type": "StasisStart", "channel": {"id": "c1", "dialplan": "oops"}},
    {"type": "StasisStart", "channel": {"id": "c1", "caller": ["0612345678"]}},
    {"type": "StasisStart", "channel": {"id": "c1"}, "args": 42},
    {"type": "StasisStart", "channel": {"id": "c1"}, "replace_channel": "c0"},
    {"type": "ChannelDtmfReceived", "channel": {"id": "c1"}, "digit": "1", "duration_ms": "long"},
    {"type": "ChannelHangupRequest", "channel": {"id": "c1"}, "cause": [16]},
    {"type": "PlaybackFinished", "playback": None},
    {"type": "RecordingFinished", "recording": {"name": "r", "duration": "abc"}},
    {"type": "Dial", "peer": {"id": "p1"}, "caller": "c1"},
    {"type": "BridgeDestroyed", "bridge": {"id": "b1", "channels": 7}},
]


@pytest.mark.parametrize("data", ODD_INPUTS, ids=range(len(ODD_INPUTS)))
def test_parse_event_never_raises_on_odd_input(data: dict[str, Any]):
    """Whatever Asterisk (or a proxy) sends, parse_event returns an Event keeping the raw JSON."""
    event = parse_event(data)
    assert isinstance(event, Event)
    assert event.type == str(data.get("type", ""))
    assert event.raw is data


def test_parse_event_never_raises_on_infinite_number():
    """A numeric field that JSON decodes to infinity (1e400) still gives an Event, not an exception."""
    event = parse_event({"type": "ChannelHangupRequest", "channel": {"id": "c1"}, "cause": float("inf")})
    assert event.type == "ChannelHangupRequest"


def test_unknown_type_is_a_plain_event_with_raw():
    """An event type we do not model becomes a plain Event with its JSON in raw, routed to nobody."""
    data = {"type": "ChannelVarset", "variable": "X", "value": "1", "channel": {"id": "c1"}, "application": "cc"}
    event = parse_event(data)
    assert type(event) is Event
    assert (event.type, event.application, event.raw["variable"]) == ("ChannelVarset", "cc", "X")
    assert event.channel_ids() == ()


def test_known_events_are_typed():
    """The events calls use come out typed with their fields."""
    dtmf = parse_event({"type": "ChannelDtmfReceived", "channel": {"id": "c1"}, "digit": "#", "duration_ms": 90})
    assert isinstance(dtmf, ChannelDtmfReceived) and (dtmf.digit, dtmf.duration_ms) == ("#", 90)
    hangup = parse_event({"type": "ChannelHangupRequest", "channel": {"id": "c1"}, "cause": 16})
    assert isinstance(hangup, ChannelHangupRequest) and hangup.cause == 16
    start = parse_event(
        {
            "type": "StasisStart",
            "args": ["inbound", "0556000000"],
            "channel": {"id": "c1", "caller": {"number": "0612345678"}, "dialplan": {"exten": "0556000000"}},
            "replace_channel": {"id": "c0"},
        }
    )
    assert isinstance(start, StasisStart)
    assert start.args == ("inbound", "0556000000")
    assert (start.channel.caller.number, start.channel.exten, start.replace_channel) == (
        "0612345678",
        "0556000000",
        "c0",
    )


@pytest.mark.parametrize(
    ("target_uri", "expected"),
    [("channel:c1", ("c1",)), ("bridge:b1", ()), ("", ()), ("channel:", ())],
    ids=["channel", "bridge", "empty", "channel-without-id"],
)
def test_playback_routes_by_target_channel(target_uri: str, expected: tuple[str, ...]):
    """A playback event is routed to the channel in its target_uri; bridge playbacks to no channel."""
    event = parse_event({"type": "PlaybackFinished", "playback": {"id": "p1", "target_uri": target_uri}})
    assert isinstance(event, PlaybackFinished)
    assert event.channel_ids() == expected


def test_recording_events_route_to_their_channel():
    """Recording events route to the recorded channel."""
    rec = parse_event({"type": "RecordingFinished", "recording": {"name": "r1", "target_uri": "channel:c1"}})
    assert isinstance(rec, RecordingFinished) and rec.channel_ids() == ("c1",)


@pytest.mark.parametrize("kind", ["ChannelStateChange", "Dial", "PlaybackStarted", "ChannelEnteredBridge",
                                  "ChannelLeftBridge", "BridgeDestroyed", "RecordingStarted"])
def test_types_nobody_reads_are_not_typed_so_not_asked_of_asterisk(kind: str):
    """An event type no code reads has no parser, so the application's event filter leaves it out: Asterisk
    does not dump, send and make us parse 11 events per queued call that nothing looks at."""
    assert type(parse_event({"type": kind, "channel": {"id": "c1"}})) is Event
    assert kind not in HANDLED_TYPES
