"""An independent ARI observer for the busy hour: its own application (`bench-observer`, subscribeAll) sees every
channel and bridge of the Asterisk that callcontrol drives, without taking part in any call.

From the events (Asterisk's own timestamps) it keeps, per citizen: the channel's creation, the first agent leg
rung for that citizen (an agent's channel whose caller number is the citizen's: the hotline shows the citizen's
number), the moment the citizen's channel and an agent's channel are in one bridge (then `on_answered(number)`,
once: the citizen's patience ends), and per agent: every leg's life (created -> destroyed). An agent leg created
while another leg of the same agent is still alive is an agent rung while busy.
"""

from __future__ import annotations

import asyncio
import base64
import json
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import aiohttp
from harness import ARI_URL, ARI_USER, ari_password

AGENT_CHANNEL = re.compile(r"^PJSIP/(\d{4})-")


def stamp(event: dict[str, Any]) -> float:
    """Asterisk's event timestamp ("2026-12-02T04:50:00.123+0000") as epoch seconds."""
    return datetime.strptime(event["timestamp"], "%Y-%m-%dT%H:%M:%S.%f%z").timestamp()


def digits(number: str | None) -> str:
    return "".join(c for c in number or "" if c.isdigit())[-9:]


@dataclass
class CitizenSeen:
    channel: str
    created: float
    rung: float | None = None  # first agent leg for this citizen
    bridged: float | None = None  # with an agent
    agent: str | None = None  # extension
    destroyed: float | None = None


@dataclass
class AgentLeg:
    extension: str
    citizen: str  # the citizen's 9 last digits
    created: float
    answered: float | None = None  # ChannelStateChange to Up
    destroyed: float | None = None


@dataclass
class Observer:
    citizens_by_digits: dict[str, str]  # 9 last digits -> the citizen's number as dialled
    agent_extensions: set[str]
    on_answered: Callable[[str], None]
    app: str = "bench-observer"
    citizens: dict[str, CitizenSeen] = field(default_factory=dict)  # number -> what was seen
    legs: dict[str, AgentLeg] = field(default_factory=dict)  # channel id -> agent leg
    rung_while_busy: list[str] = field(default_factory=list)
    events: int = 0
    _citizen_of_channel: dict[str, str] = field(default_factory=dict)
    _bridges: dict[str, set[str]] = field(default_factory=dict)

    async def run(self, ready: asyncio.Event) -> None:
        token = base64.b64encode(f"{ARI_USER}:{ari_password()}".encode()).decode()
        url = ARI_URL.rstrip("/").replace("http", "ws", 1) + "/ari/events"
        async with aiohttp.ClientSession() as session, session.ws_connect(
            url, params={"app": self.app, "subscribeAll": "true"}, headers={"Authorization": f"Basic {token}"},
            heartbeat=10,
        ) as ws:  # fmt: skip
            ready.set()
            async for msg in ws:
                if msg.type == aiohttp.WSMsgType.TEXT:
                    self.handle(json.loads(msg.data))
                elif msg.type in (aiohttp.WSMsgType.CLOSED, aiohttp.WSMsgType.ERROR):
                    break

    def handle(self, event: dict[str, Any]) -> None:
        self.events += 1
        kind = event.get("type")
        channel = event.get("channel") or {}
        if kind == "ChannelCreated":
            self._created(channel, stamp(event))
        elif kind == "ChannelStateChange" and channel.get("state") == "Up" and channel.get("id") in self.legs:
            leg = self.legs[channel["id"]]
            leg.answered = leg.answered or stamp(event)
        elif kind == "ChannelEnteredBridge":
            bridge = event.get("bridge") or {}
            members = self._bridges.setdefault(bridge.get("id", ""), set())
            members.update(bridge.get("channels") or [])
            members.add(channel.get("id", ""))
            self._check_bridge(members, stamp(event))
        elif kind == "ChannelLeftBridge":
            self._bridges.get((event.get("bridge") or {}).get("id", ""), set()).discard(channel.get("id", ""))
        elif kind == "BridgeDestroyed":
            self._bridges.pop((event.get("bridge") or {}).get("id", ""), None)
        elif kind == "ChannelDestroyed":
            at = stamp(event)
            if channel.get("id") in self.legs:
                self.legs[channel["id"]].destroyed = at
            number = self._citizen_of_channel.get(channel.get("id", ""))
            if number:
                self.citizens[number].destroyed = at

    def _created(self, channel: dict[str, Any], at: float) -> None:
        name, cid = channel.get("name", ""), channel.get("id", "")
        caller = digits((channel.get("caller") or {}).get("number"))
        agent = AGENT_CHANNEL.match(name)
        if agent and agent.group(1) in self.agent_extensions:
            ext = agent.group(1)
            alive = [leg for leg in self.legs.values() if leg.extension == ext and leg.destroyed is None]
            if alive:
                self.rung_while_busy.append(f"{ext}: leg {cid} for {caller} created while {alive[0].citizen}'s "
                                            f"leg (created {alive[0].created:.3f}) was alive")  # fmt: skip
            # callcontrol names an agent leg "<citizen's channel id>-<suffix>" (calls/legs.py); the caller number
            # (the hotline shows the citizen's) is the fallback.
            number = self._citizen_of_channel.get(cid.rsplit("-", 1)[0]) or self.citizens_by_digits.get(caller)
            self.legs[cid] = AgentLeg(ext, digits(number) if number else caller, at)
            if number and number in self.citizens and self.citizens[number].rung is None:
                self.citizens[number].rung = at
        elif caller in self.citizens_by_digits and not name.startswith("Local/"):
            number = self.citizens_by_digits[caller]
            if number not in self.citizens:
                self.citizens[number] = CitizenSeen(cid, at)
                self._citizen_of_channel[cid] = number

    def dump(self) -> dict[str, Any]:
        """Everything seen, for the run's directory (cross-checks by hand)."""
        return {"citizens": {n: vars(c) for n, c in self.citizens.items()},
                "legs": {cid: vars(leg) for cid, leg in self.legs.items()}, "rung_while_busy": self.rung_while_busy,
                "events": self.events}

    def _check_bridge(self, members: set[str], at: float) -> None:
        agents = [self.legs[c] for c in members if c in self.legs]
        for cid in members:
            number = self._citizen_of_channel.get(cid)
            if not number or not agents:
                continue
            seen = self.citizens[number]
            if seen.rung is None:  # a leg the creation did not tie to this citizen
                seen.rung = min(leg.created for leg in agents)
            if seen.bridged is None:
                seen.bridged = at
                seen.agent = agents[0].extension
                self.on_answered(number)
