"""Typed views of the ARI resources callcontrol uses (channels, bridges, playbacks, recordings, endpoints)."""

from __future__ import annotations

from dataclasses import dataclass
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
