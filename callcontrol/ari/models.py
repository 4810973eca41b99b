"""Typed views of the ARI objects and events callcontrol uses. Unknown fields are kept in `raw`."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class CallerId:
    name: str = ""
    number: str = ""

    @classmethod
    def parse(cls, data: dict[str, Any] | None) -> CallerId:
        data = data or {}
        return cls(name=data.get("name", "") or "", number=data.get("number", "") or "")


@dataclass(frozen=True)
class Channel:
    id: str
    name: str = ""
    state: str = ""
    caller: CallerId = CallerId()
    connected: CallerId = CallerId()
    exten: str = ""
    context: str = ""
    app_name: str = ""  # dialplan application the channel is in ("Stasis")
    app_data: str = ""  # its arguments ("callcontrol,inbound,0556000000")
    language: str = ""
    creation_time: str = ""

    @classmethod
    def parse(cls, data: dict[str, Any]) -> Channel:
        dialplan = data.get("dialplan") or {}
        return cls(
            id=data.get("id", ""),
            name=data.get("name", ""),
            state=data.get("state", ""),
            caller=CallerId.parse(data.get("caller")),
            connected=CallerId.parse(data.get("connected")),
            exten=dialplan.get("exten", "") or "",
            context=dialplan.get("context", "") or "",
            app_name=dialplan.get("app_name", "") or "",
            app_data=dialplan.get("app_data", "") or "",
            language=data.get("language", "") or "",
            creation_time=data.get("creationtime", "") or "",
        )


@dataclass(frozen=True)
class Bridge:
    id: str
    bridge_type: str = ""
    technology: str = ""
    channels: tuple[str, ...] = ()
    name: str = ""

    @classmethod
    def parse(cls, data: dict[str, Any]) -> Bridge:
        return cls(
            id=data.get("id", ""),
            bridge_type=data.get("bridge_type", ""),
            technology=data.get("technology", ""),
            channels=tuple(data.get("channels") or ()),
            name=data.get("name", "") or "",
        )


@dataclass(frozen=True)
class Playback:
    id: str
    media_uri: str = ""
    target_uri: str = ""
    state: str = ""

    @classmethod
    def parse(cls, data: dict[str, Any]) -> Playback:
        return cls(
            id=data.get("id", ""),
            media_uri=data.get("media_uri", ""),
            target_uri=data.get("target_uri", ""),
            state=data.get("state", ""),
        )

    @property
    def channel_id(self) -> str | None:
        kind, _, ident = self.target_uri.partition(":")
        return ident if kind == "channel" else None


@dataclass(frozen=True)
class LiveRecording:
    name: str
    target_uri: str = ""
    state: str = ""
    duration: float = 0.0
    cause: str = ""

    @classmethod
    def parse(cls, data: dict[str, Any]) -> LiveRecording:
        return cls(
            name=data.get("name", ""),
            target_uri=data.get("target_uri", ""),
            state=data.get("state", ""),
            duration=float(data.get("duration") or data.get("total_duration") or 0),
            cause=data.get("cause", "") or "",
        )

    @property
    def channel_id(self) -> str | None:
        kind, _, ident = self.target_uri.partition(":")
        return ident if kind == "channel" else None


@dataclass(frozen=True)
class Endpoint:
    """An endpoint as ARI describes it: state is "online" (a PJSIP endpoint: at least one contact registered),
    "offline" or "unknown"."""

    technology: str
    resource: str
    state: str = "unknown"
    channel_ids: tuple[str, ...] = ()

    @classmethod
    def parse(cls, data: dict[str, Any]) -> Endpoint:
        return cls(
            technology=str(data.get("technology", "")),
            resource=str(data.get("resource", "")),
            state=str(data.get("state") or "unknown"),
            channel_ids=tuple(str(c) for c in data.get("channel_ids") or ()),
        )


# ---------------------------------------------------------------------------------------------------- events


@dataclass(frozen=True)
class Event:
    type: str
    application: str = ""
    timestamp: str = ""
    raw: dict[str, Any] = field(default_factory=dict, repr=False, compare=False)

    def channel_ids(self) -> tuple[str, ...]:
        """The channels this event concerns, used to route it to the call that owns them."""
        return ()

    def bridge_id(self) -> str | None:
        return None


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
class ChannelStateChange(ChannelEvent):
    pass


@dataclass(frozen=True)
class BridgeChannelEvent(ChannelEvent):
    bridge: Bridge = Bridge(id="")

    def bridge_id(self) -> str | None:
        return self.bridge.id


@dataclass(frozen=True)
class ChannelEnteredBridge(BridgeChannelEvent):
    pass


@dataclass(frozen=True)
class ChannelLeftBridge(BridgeChannelEvent):
    pass


@dataclass(frozen=True)
class BridgeDestroyed(Event):
    bridge: Bridge = Bridge(id="")

    def bridge_id(self) -> str | None:
        return self.bridge.id


@dataclass(frozen=True)
class PlaybackEvent(Event):
    playback: Playback = Playback(id="")

    def channel_ids(self) -> tuple[str, ...]:
        return (self.playback.channel_id,) if self.playback.channel_id else ()


@dataclass(frozen=True)
class PlaybackStarted(PlaybackEvent):
    pass


@dataclass(frozen=True)
class PlaybackFinished(PlaybackEvent):
    pass


@dataclass(frozen=True)
class RecordingEvent(Event):
    recording: LiveRecording = LiveRecording(name="")

    def channel_ids(self) -> tuple[str, ...]:
        return (self.recording.channel_id,) if self.recording.channel_id else ()


@dataclass(frozen=True)
class RecordingStarted(RecordingEvent):
    pass


@dataclass(frozen=True)
class RecordingFinished(RecordingEvent):
    pass


@dataclass(frozen=True)
class RecordingFailed(RecordingEvent):
    pass


@dataclass(frozen=True)
class Dial(Event):
    peer: Channel = Channel(id="")
    caller: Channel | None = None
    dialstatus: str = ""

    def channel_ids(self) -> tuple[str, ...]:
        return (self.peer.id,) + ((self.caller.id,) if self.caller else ())


@dataclass(frozen=True)
class ApplicationReplaced(Event):
    pass


@dataclass(frozen=True)
class EndpointStateChange(Event):
    """An endpoint the application subscribed to went online / offline (a softphone registered or lapsed)."""

    endpoint: Endpoint = field(default_factory=lambda: Endpoint("", ""))


def _channel(d: dict[str, Any]) -> dict[str, Any]:
    return {"channel": Channel.parse(d.get("channel") or {})}


def _bridged(d: dict[str, Any]) -> dict[str, Any]:
    return {**_channel(d), "bridge": Bridge.parse(d.get("bridge") or {})}


def _playback(d: dict[str, Any]) -> dict[str, Any]:
    return {"playback": Playback.parse(d.get("playback") or {})}


def _recording(d: dict[str, Any]) -> dict[str, Any]:
    return {"recording": LiveRecording.parse(d.get("recording") or {})}


# event type -> (class, function giving the class's own fields from the JSON)
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
    "ChannelStateChange": (ChannelStateChange, _channel),
    "ChannelEnteredBridge": (ChannelEnteredBridge, _bridged),
    "ChannelLeftBridge": (ChannelLeftBridge, _bridged),
    "BridgeDestroyed": (BridgeDestroyed, lambda d: {"bridge": Bridge.parse(d.get("bridge") or {})}),
    "PlaybackStarted": (PlaybackStarted, _playback),
    "PlaybackFinished": (PlaybackFinished, _playback),
    "RecordingStarted": (RecordingStarted, _recording),
    "RecordingFinished": (RecordingFinished, _recording),
    "RecordingFailed": (RecordingFailed, _recording),
    "Dial": (
        Dial,
        lambda d: {
            "peer": Channel.parse(d.get("peer") or {}),
            "caller": Channel.parse(d["caller"]) if d.get("caller") else None,
            "dialstatus": d.get("dialstatus", ""),
        },
    ),
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
