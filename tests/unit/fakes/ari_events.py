"""Builders of Asterisk-shaped events (plain dicts, Asterisk's JSON) for the fake ARI to push."""

from __future__ import annotations

from typing import Any


class EventBuilders:
    """FakeAri's event builders (FakeAri holds `app`, `channels`, `playbacks` and `endpoints`)."""

    app: str
    channels: dict[str, dict[str, Any]]
    playbacks: dict[str, dict[str, Any]]
    endpoints: dict[str, str]

    def _channel_json(self, channel_id: str) -> dict[str, Any]:
        return self.channels.get(channel_id) or {"id": channel_id, "name": f"PJSIP/x-{channel_id}", "state": "Up"}

    def stasis_start(self, channel_id: str, args: tuple[str, ...] | None = None) -> dict[str, Any]:
        channel = self._channel_json(channel_id)
        if args is None:
            app_data = channel.get("dialplan", {}).get("app_data", "")
            args = tuple(app_data.split(",")[1:]) if app_data else ("inbound",)
        return {"type": "StasisStart", "args": list(args), "channel": channel}

    def dtmf(self, channel_id: str, digit: str) -> dict[str, Any]:
        return {
            "type": "ChannelDtmfReceived",
            "digit": digit,
            "duration_ms": 120,
            "channel": self._channel_json(channel_id),
        }

    def hangup_request(self, channel_id: str, cause: int = 16) -> dict[str, Any]:
        return {"type": "ChannelHangupRequest", "cause": cause, "channel": self._channel_json(channel_id)}

    def stasis_end(self, channel_id: str) -> dict[str, Any]:
        return {"type": "StasisEnd", "channel": self._channel_json(channel_id)}

    def channel_destroyed(self, channel_id: str, cause: int = 16) -> dict[str, Any]:
        return {
            "type": "ChannelDestroyed",
            "cause": cause,
            "cause_txt": "Normal Clearing",
            "channel": self._channel_json(channel_id),
        }

    def playback_event(self, kind: str, playback_id: str, channel_id: str, state: str = "done") -> dict[str, Any]:
        playback = self.playbacks.get(playback_id) or {"media_uri": "sound:x", "language": "fr"}
        return {
            "type": kind,
            "playback": {**playback, "id": playback_id, "target_uri": f"channel:{channel_id}", "state": state},
        }

    def endpoint_json(self, resource: str) -> dict[str, Any]:
        return {"technology": "PJSIP", "resource": resource, "state": self.endpoints[resource], "channel_ids": []}

    def endpoint_state_change(self, resource: str, state: str) -> dict[str, Any]:
        """The event Asterisk sends when a softphone registers ("online") or its registration lapses."""
        self.endpoints[resource] = state
        return {"type": "EndpointStateChange", "application": self.app, "endpoint": self.endpoint_json(resource)}

    def stasis_end_of(self, channel: dict[str, Any]) -> dict[str, Any]:
        return {"type": "StasisEnd", "channel": channel}

    def destroyed_of(self, channel: dict[str, Any]) -> dict[str, Any]:
        return {"type": "ChannelDestroyed", "cause": 16, "cause_txt": "Normal Clearing", "channel": channel}
