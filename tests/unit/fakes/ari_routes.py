"""The fake ARI's REST resources: the routes callcontrol uses, answered over HTTP and over the websocket alike."""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable
from typing import Any

from aiohttp import web

from fakes.ari_events import EventBuilders
from fakes.ari_records import Failure, RecordedRequest, json_reply


class RestRoutes(EventBuilders):
    """FakeAri's REST side: `_route` answers one recorded request as Asterisk would (FakeAri holds the state)."""

    events_on_hangup: bool
    playback_seconds: float | None
    subscriptions: list[str]
    event_filter: Any
    add_channel: Callable[..., dict[str, Any]]
    push: Callable[..., Awaitable[None]]
    _later: Callable[[float, Any], None]
    _take_failure: Callable[[str, str], Failure | None]
    _held: Callable[[str, str], Awaitable[None]]

    async def _route(self, req: RecordedRequest) -> web.Response:
        path = req.path
        await self._held(req.method, path)
        failure = self._take_failure(req.method, path)
        if failure is not None:
            if failure.message is None:
                return web.Response(status=failure.status, text="")
            return json_reply(failure.status, {"message": failure.message})
        parts = path.strip("/").split("/")
        route = (req.method, *parts)
        match route:
            case ("GET", "asterisk", "info"):
                return json_reply(200, {"system": {"version": "20.0.0-fake"}})
            case ("GET", "asterisk", "ping"):
                return json_reply(200, {"ping": "pong", "asterisk_id": "fake"})
            case ("GET", "channels"):
                return json_reply(200, list(self.channels.values()))
            case ("POST", "channels"):
                return self._originate(req)
            case ("GET", "channels", channel_id):
                return self._with_channel(channel_id, lambda c: json_reply(200, c))
            case ("DELETE", "channels", channel_id):
                return await self._hangup(channel_id)
            case ("POST", "channels", channel_id, "continue"):
                return self._with_channel(channel_id, lambda c: self._continue(c))
            case ("POST", "channels", channel_id, "answer"):
                return self._with_channel(channel_id, lambda c: _answer(c))
            case ("POST", "channels", channel_id, "play", *rest):
                return await self._play(channel_id, rest[0] if rest else uuid.uuid4().hex, req)
            case ("DELETE", "playbacks", playback_id):
                return await self._stop_playback(playback_id)
            case ("GET", "endpoints", "PJSIP"):
                return json_reply(200, [self.endpoint_json(r) for r in self.endpoints])
            case ("GET", "endpoints", "PJSIP", resource) if resource in self.endpoints:
                return json_reply(200, self.endpoint_json(resource))
            case ("GET", "endpoints", "PJSIP", _resource):
                return json_reply(404, {"message": "Endpoint not found"})
            case ("PUT", "applications", app, "eventFilter") if app == self.app:
                self.event_filter = req.body
                return json_reply(200, {"name": app, "events_allowed": (req.body or {}).get("allowed", [])})
            case ("POST", "applications", app, "subscription") if app == self.app:
                self.subscriptions.append(req.query.get("eventSource", ""))
                return json_reply(200, {"name": app, "endpoint_ids": []})
            case _:
                return json_reply(404, {"message": "Resource not found"})

    def _with_channel(self, channel_id: str, action: Any) -> web.Response:
        channel = self.channels.get(channel_id)
        if channel is None:
            return json_reply(404, {"message": "Channel not found"})
        if channel["dialplan"]["app_name"] != "Stasis":
            return json_reply(409, {"message": "Channel not in Stasis application"})
        return action(channel)

    def _continue(self, channel: dict[str, Any]) -> web.Response:
        """Back to the dialplan: the channel leaves the application (StasisEnd), it is not destroyed."""
        self.channels.pop(channel["id"], None)
        self._later(0, self.push(self.stasis_end_of(channel)))
        return web.Response(status=204)

    async def _hangup(self, channel_id: str) -> web.Response:
        channel = self.channels.pop(channel_id, None)
        if channel is None:
            return json_reply(404, {"message": "Channel not found"})
        if self.events_on_hangup:
            self._later(0, self.push(self.stasis_end_of(channel), self.destroyed_of(channel)))
        return web.Response(status=204)

    async def _play(self, channel_id: str, playback_id: str, req: RecordedRequest) -> web.Response:
        if channel_id not in self.channels:
            return json_reply(404, {"message": "Channel not found"})
        playback = {
            "id": playback_id,
            "media_uri": req.query.get("media", "").split(",")[0],
            "target_uri": f"channel:{channel_id}",
            "language": req.query.get("lang", "en"),
            "state": "queued",
        }
        self.playbacks[playback_id] = playback
        if self.playback_seconds is not None:
            self._later(0, self.push(self.playback_event("PlaybackStarted", playback_id, channel_id, "playing")))
            self._later(self.playback_seconds, self._finish_playback(playback_id, "done"))
        return json_reply(201, playback)

    async def _finish_playback(self, playback_id: str, state: str) -> None:
        playback = self.playbacks.pop(playback_id, None)
        if playback is not None:
            channel_id = playback["target_uri"].partition(":")[2]
            await self.push(self.playback_event("PlaybackFinished", playback_id, channel_id, state))

    async def _stop_playback(self, playback_id: str) -> web.Response:
        if playback_id not in self.playbacks:
            return json_reply(404, {"message": "Playback not found"})
        playback = self.playbacks[playback_id]
        channel_id = playback["target_uri"].partition(":")[2]
        event = self.playback_event("PlaybackFinished", playback_id, channel_id, "stopped")
        del self.playbacks[playback_id]
        self._later(0, self.push(event))
        return web.Response(status=204)

    def _originate(self, req: RecordedRequest) -> web.Response:
        if "endpoint" not in req.query:
            return json_reply(400, {"message": "Endpoint parameter not provided"})
        channel_id = req.query.get("channelId") or uuid.uuid4().hex
        channel = self.add_channel(
            channel_id,
            caller=req.query.get("callerId", ""),
            args=tuple(req.query.get("appArgs", "").split(",")),
            app=req.query.get("app"),
            state="Down",
        )
        return json_reply(200, channel)


def _answer(channel: dict[str, Any]) -> web.Response:
    channel["state"] = "Up"
    return web.Response(status=204)
