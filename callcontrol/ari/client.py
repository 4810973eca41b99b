"""ARI REST: the ~25 operations callcontrol uses, with Asterisk's errors surfaced as typed exceptions."""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import aiohttp
import orjson

from callcontrol.ari.connection import AriConnection
from callcontrol.ari.errors import AriUnavailable, asterisk_message, error_for
from callcontrol.ari.resources import Bridge, Channel, Endpoint, LiveRecording
from callcontrol.ari.ws_rest import AnsweredLate, WsRest

RequestObserver = Callable[[str, str, float, bool], None]  # method, path, seconds, answered (False: no answer)


class AriClient:
    """REST side of one ARI application. The aiohttp session is owned by the caller (composition root)."""

    def __init__(
        self,
        session: aiohttp.ClientSession,
        conn: AriConnection,
        *,
        on_request: RequestObserver | None = None,
        ws_rest: WsRest | None = None,
    ):
        self._session = session
        self._base = conn.rest_url
        self._headers = conn.auth_header()
        self._json_headers = {**self._headers, "Content-Type": "application/json"}
        self.app = conn.app
        self._timeout = aiohttp.ClientTimeout(total=conn.request_timeout)
        self._on_request = on_request  # timed here: an aiohttp TraceConfig cost ~0.15 ms of CPU per request
        self._ws_rest = ws_rest  # REST over an ARI websocket while one carries requests (ws_rest.py), else HTTP

    # ------------------------------------------------------------------------------------------------ transport

    async def request(
        self,
        method: str,
        path: str,
        *,
        params: Mapping[str, Any] | None = None,
        body: Mapping[str, Any] | None = None,
        bulk: bool = False,
    ) -> Any:
        """One REST call; returns the decoded JSON (None for 204). Raises a typed AriError. Over a websocket
        when one carries requests; over HTTP otherwise, and for `bulk` answers (listings: no websocket frame cap,
        and they would hold up the requests queued behind them on the socket)."""
        query = {k: _query_value(v) for k, v in (params or {}).items() if v is not None}
        data = None if body is None else orjson.dumps(body)
        lane = None if bulk or self._ws_rest is None else self._ws_rest.pick()
        started, answered = time.monotonic(), False
        try:
            if lane is not None:
                status, raw = await self._ws_rest.request(  # type: ignore[union-attr]
                    lane, method, path, query, data, timeout=self._timeout.total or 10.0
                )
            else:
                status, raw = await self._over_http(method, path, query, data)
            answered = True
        except (TimeoutError, aiohttp.ClientConnectionError, ConnectionError) as exc:
            error = AriUnavailable(0, f"Asterisk unreachable: {_why(exc)}", method, path)
            error.late = exc.status if isinstance(exc, AnsweredLate) else None
            raise error from exc
        finally:
            if self._on_request is not None:
                self._on_request(method, path, time.monotonic() - started, answered)
        if status == 204:
            return None
        if status < 300:
            return orjson.loads(raw) if raw else None
        text = raw if isinstance(raw, str) else raw.decode("utf-8", "replace")
        raise error_for(status, asterisk_message(text), method, path)

    async def _over_http(
        self, method: str, path: str, query: Mapping[str, str], data: bytes | None
    ) -> tuple[int, bytes | str]:
        headers = self._headers if data is None else self._json_headers
        async with self._session.request(
            method, self._base + path, params=query, data=data, headers=headers, timeout=self._timeout
        ) as response:
            if response.status == 204:
                return 204, b""
            return response.status, await response.read()

    # ------------------------------------------------------------------------------------------------ asterisk

    async def info(self) -> dict[str, Any]:
        return await self.request("GET", "/asterisk/info")

    async def sound_ids(self, language: str | None = None) -> set[str]:
        """Ids of the sounds Asterisk has ("callcontrol/welcome", "digits/1", ...), optionally in one language."""
        sounds = await self.request("GET", "/sounds", params={"lang": language}, bulk=True)
        return {s["id"] for s in sounds or ()}

    async def applications(self) -> list[dict[str, Any]]:
        return await self.request("GET", "/applications", bulk=True)

    async def subscribe(self, event_source: str) -> None:
        """Subscribe our application to an event source ("endpoint:PJSIP": every PJSIP endpoint's state)."""
        await self.request("POST", f"/applications/{self.app}/subscription", params={"eventSource": event_source})

    async def only_events(self, types: Sequence[str]) -> None:
        """Asterisk sends our application only events of these types (PUT /applications/{app}/eventFilter)."""
        body = {"allowed": [{"type": t} for t in types], "disallowed": []}
        await self.request("PUT", f"/applications/{self.app}/eventFilter", body=body)

    # ------------------------------------------------------------------------------------------------ endpoints

    async def endpoints(self, technology: str) -> list[Endpoint]:
        return [Endpoint.parse(e) for e in await self.request("GET", f"/endpoints/{technology}", bulk=True) or ()]

    async def endpoint(self, technology: str, resource: str) -> Endpoint:
        """One endpoint (ResourceGone when Asterisk has no such endpoint)."""
        return Endpoint.parse(await self.request("GET", f"/endpoints/{technology}/{resource}"))

    # ------------------------------------------------------------------------------------------------ channels

    async def channels(self) -> list[Channel]:
        return [Channel.parse(c) for c in await self.request("GET", "/channels", bulk=True) or ()]

    async def channel(self, channel_id: str) -> Channel:
        return Channel.parse(await self.request("GET", f"/channels/{channel_id}"))

    async def answer(self, channel_id: str) -> None:
        await self.request("POST", f"/channels/{channel_id}/answer")

    async def hangup(self, channel_id: str, reason: str = "normal") -> None:
        await self.request("DELETE", f"/channels/{channel_id}", params={"reason": reason})

    async def ring(self, channel_id: str) -> None:
        await self.request("POST", f"/channels/{channel_id}/ring")

    async def ring_stop(self, channel_id: str) -> None:
        await self.request("DELETE", f"/channels/{channel_id}/ring")

    async def start_moh(self, channel_id: str, moh_class: str | None = None) -> None:
        await self.request("POST", f"/channels/{channel_id}/moh", params={"mohClass": moh_class})

    async def stop_moh(self, channel_id: str) -> None:
        await self.request("DELETE", f"/channels/{channel_id}/moh")

    async def play(
        self,
        channel_id: str,
        media: str | Sequence[str],
        *,
        lang: str | None = None,
        playback_id: str | None = None,
    ) -> str:
        """Start playing; returns the playback id (its PlaybackFinished event says when it is over)."""
        media_list = [media] if isinstance(media, str) else list(media)
        path = f"/channels/{channel_id}/play" + (f"/{playback_id}" if playback_id else "")
        result = await self.request("POST", path, params={"media": ",".join(media_list), "lang": lang})
        return result["id"]

    async def record(
        self,
        channel_id: str,
        name: str,
        *,
        fmt: str = "wav",
        max_duration: int = 0,
        max_silence: int = 0,
        beep: bool = True,
        terminate_on: str = "#",
        if_exists: str = "overwrite",
    ) -> LiveRecording:
        result = await self.request(
            "POST",
            f"/channels/{channel_id}/record",
            params={
                "name": name,
                "format": fmt,
                "maxDurationSeconds": max_duration,
                "maxSilenceSeconds": max_silence,
                "beep": beep,
                "terminateOn": terminate_on,
                "ifExists": if_exists,
            },
        )
        return LiveRecording.parse(result)

    async def originate(
        self,
        endpoint: str,
        *,
        channel_id: str | None = None,
        app_args: str = "",
        caller_id: str | None = None,
        timeout: int = 30,
        variables: Mapping[str, str] | None = None,
        originator: str | None = None,
        formats: str | None = None,
    ) -> Channel:
        """Place a call to `endpoint` that enters our Stasis application when answered."""
        params: dict[str, Any] = {
            "endpoint": endpoint,
            "app": self.app,
            "appArgs": app_args,
            "callerId": caller_id,
            "timeout": timeout,
            "channelId": channel_id,
            "originator": originator,
            "formats": formats,
        }
        body = {"variables": dict(variables)} if variables else None
        return Channel.parse(await self.request("POST", "/channels", params=params, body=body))

    async def continue_in_dialplan(
        self, channel_id: str, *, context: str | None = None, extension: str | None = None, priority: int | None = None
    ) -> None:
        await self.request(
            "POST",
            f"/channels/{channel_id}/continue",
            params={"context": context, "extension": extension, "priority": priority},
        )

    async def set_variable(self, channel_id: str, name: str, value: str) -> None:
        await self.request("POST", f"/channels/{channel_id}/variable", params={"variable": name, "value": value})

    async def get_variable(self, channel_id: str, name: str) -> str:
        result = await self.request("GET", f"/channels/{channel_id}/variable", params={"variable": name})
        return (result or {}).get("value", "")

    # ------------------------------------------------------------------------------------------------ bridges

    async def bridges(self) -> list[Bridge]:
        return [Bridge.parse(b) for b in await self.request("GET", "/bridges", bulk=True) or ()]

    async def create_bridge(
        self, kind: str = "mixing,dtmf_events", *, name: str = "", bridge_id: str | None = None
    ) -> Bridge:
        params = {"type": kind, "name": name or None}
        path = f"/bridges/{bridge_id}" if bridge_id else "/bridges"
        return Bridge.parse(await self.request("POST", path, params=params))

    async def add_channel(self, bridge_id: str, channel_id: str | Sequence[str], *, role: str | None = None) -> None:
        ids = [channel_id] if isinstance(channel_id, str) else list(channel_id)
        await self.request("POST", f"/bridges/{bridge_id}/addChannel", params={"channel": ",".join(ids), "role": role})

    async def remove_channel(self, bridge_id: str, channel_id: str) -> None:
        await self.request("POST", f"/bridges/{bridge_id}/removeChannel", params={"channel": channel_id})

    async def destroy_bridge(self, bridge_id: str) -> None:
        await self.request("DELETE", f"/bridges/{bridge_id}")

    # ------------------------------------------------------------------------------------------------ playbacks

    async def stop_playback(self, playback_id: str) -> None:
        await self.request("DELETE", f"/playbacks/{playback_id}")

    async def delete_stored_recording(self, name: str) -> None:
        await self.request("DELETE", f"/recordings/stored/{name}")

    async def stored_recording_file(self, name: str) -> bytes:
        """The stored recording's file (its format's bytes, e.g. WAV): Asterisk may be on another host."""
        path = f"/recordings/stored/{name}/file"
        try:
            async with self._session.get(self._base + path, headers=self._headers, timeout=self._timeout) as response:
                if response.status < 300:
                    return await response.read()
                raise error_for(response.status, asterisk_message(await response.text()), "GET", path)
        except (TimeoutError, aiohttp.ClientConnectionError) as exc:
            raise AriUnavailable(0, f"Asterisk unreachable: {_why(exc)}", "GET", path) from exc


def _query_value(value: Any) -> str:
    return ("true" if value else "false") if isinstance(value, bool) else str(value)


def _why(exc: BaseException) -> str:
    """What a log line says of a request that got no answer (a timeout's str() is empty)."""
    if isinstance(exc, TimeoutError) and not str(exc):
        return "no answer in time (timeout)"
    return str(exc) or type(exc).__name__
