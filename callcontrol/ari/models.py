"""Typed ARI events (the resources they carry are in ari/resources.py). Unknown fields are kept in `raw`."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from callcontrol.ari.resources import Channel, Endpoint, LiveRecording, Playback


@dataclass(frozen=True)
class Event:
    type: str
    application: str = ""
    timestamp: str = ""
    raw: dict[str, Any] = field(default_factory=dict, repr=False, compare=False)

    def channel_ids(self) -> tuple[str, ...]:
        """The channels this event concerns, used to route it to the call that owns them."""
        return ()


@dataclass(frozen=True)
class ChannelEvent(Event):
    channel: Channel = Channel(id="")

    def channel_ids(self) -> tuple[str, ...]:
        return (self.channel.id,)


@dataclass(frozen=True)
class StasisStart(ChannelEvent):
    args: tuple[str, ...] = ()
    replace_channel: str | None = None


@dataclass(frozen=True)
class StasisEnd(ChannelEvent):
    pass


@dataclass(frozen=True)
class ChannelDtmfReceived(ChannelEvent):
    digit: str = ""
    duration_ms: int = 0


@dataclass(frozen=True)
class ChannelHangupRequest(ChannelEvent):
    cause: int = 0


@dataclass(frozen=True)
class ChannelDestroyed(ChannelEvent):
    cause: int = 0
    cause_txt: str = ""


@dataclass(frozen=True)
class PlaybackEvent(Event):
    playback: Playback = Playback(id="")

    def channel_ids(self) -> tuple[str, ...]:
        return (self.playback.channel_id,) if self.playback.channel_id else ()


@dataclass(frozen=True)
class PlaybackFinished(PlaybackEvent):
    pass


@dataclass(frozen=True)
class RecordingEvent(Event):
    recording: LiveRecording = LiveRecording(name="")

    def channel_ids(self) -> tuple[str, ...]:
        return (self.recording.channel_id,) if self.recording.channel_id else ()


@dataclass(frozen=True)
class RecordingFinished(RecordingEvent):
    pass


@dataclass(frozen=True)
class RecordingFailed(RecordingEvent):
    pass


@dataclass(frozen=True)
class ApplicationReplaced(Event):
    pass


@dataclass(frozen=True)
class EndpointStateChange(Event):
    """An endpoint the application subscribed to went online / offline (a softphone registered or lapsed)."""

    endpoint: Endpoint = field(default_factory=lambda: Endpoint("", ""))


def _channel(d: dict[str, Any]) -> dict[str, Any]:
    return {"channel": Channel.parse(d.get("channel") or {})}


def _playback(d: dict[str, Any]) -> dict[str, Any]:
    return {"playback": Playback.parse(d.get("playback") or {})}


def _recording(d: dict[str, Any]) -> dict[str, Any]:
    return {"recording": LiveRecording.parse(d.get("recording") or {})}


# event type -> (class, function giving the class's own fields from the JSON). Only the types some code here reads:
# this table is also the application's event filter (HANDLED_TYPES below), and every event let through costs
# Asterisk a JSON dump and a websocket write, and us a parse and a mailbox slot. ChannelStateChange, Dial,
# PlaybackStarted, RecordingStarted, ChannelEnteredBridge / ChannelLeftBridge and BridgeDestroyed had parsers
# nobody read: 11 of the 23 events of a queued call (bench/README.md, session 8). A type gets a parser here when
# code starts to read it.
_PARSERS: dict[str, tuple[type[Event], Any]] = {
    "StasisStart": (
        StasisStart,
        lambda d: {
            **_channel(d),
            "args": tuple(d.get("args") or ()),
            "replace_channel": (d.get("replace_channel") or {}).get("id"),
        },
    ),
    "StasisEnd": (StasisEnd, _channel),
    "ChannelDtmfReceived": (
        ChannelDtmfReceived,
        lambda d: {**_channel(d), "digit": d.get("digit", ""), "duration_ms": int(d.get("duration_ms") or 0)},
    ),
    "ChannelHangupRequest": (ChannelHangupRequest, lambda d: {**_channel(d), "cause": int(d.get("cause") or 0)}),
    "ChannelDestroyed": (
        ChannelDestroyed,
        lambda d: {**_channel(d), "cause": int(d.get("cause") or 0), "cause_txt": d.get("cause_txt", "")},
    ),
    "PlaybackFinished": (PlaybackFinished, _playback),
    "RecordingFinished": (RecordingFinished, _recording),
    "RecordingFailed": (RecordingFailed, _recording),
    "ApplicationReplaced": (ApplicationReplaced, lambda d: {}),
    "EndpointStateChange": (EndpointStateChange, lambda d: {"endpoint": Endpoint.parse(d.get("endpoint") or {})}),
}


def parse_event(data: dict[str, Any]) -> Event:
    """A typed event for the types we use; a plain Event (type + raw) for the others. Never raises."""
    kind = str(data.get("type", ""))
    common = {"type": kind, "application": data.get("application", ""), "timestamp": data.get("timestamp", "")}
    cls, fields_of = _PARSERS.get(kind, (Event, lambda d: {}))
    try:
        return cls(**common, raw=data, **fields_of(data))
    except Exception:  # odd input from the wire (1e400, wrong types): keep it untyped, never crash the stream
        return Event(**common, raw=data)


# The event types callcontrol reads (ari/event_filter.py asks Asterisk for these only).
HANDLED_TYPES: frozenset[str] = frozenset(_PARSERS)
