"""The dialplan fallback follows the duty: the current on-call holder's mobile, kept in an Asterisk global.

With callcontrol down, asterisk-conf/extensions.conf's [fallback-public] dials `${CALLCONTROL_ONCALL}` (the
FALLBACK_ONCALL global when it is empty). Not AstDB: `DB()` is a "dangerous" function that Asterisk blocks for
ARI's HTTP threads (escalations inhibited on every TCP/TLS connection) unless `live_dangerously`; a global is
plain data. It does not survive an Asterisk restart: the instances write it again within REFRESH_SECONDS.
Every instance keeps it true: at start, at each duty or presence
change (events), and every `REFRESH_SECONDS`; writing the same value twice is harmless. The holder is the first
reachable one (by rank) with a mobile on the first on-call hotline of hotlines.yaml, else its first holder with a
mobile (she is on duty even if her phone is away); none at all: "" (the dialplan's default).
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence

import structlog

from callcontrol import numbers
from callcontrol.ari.client import AriClient
from callcontrol.ari.errors import AriError
from callcontrol.state.events import DutyChanged, PresenceChanged, Resubscribed
from callcontrol.state.layer import StateLayer
from callcontrol.state.models import AgentStatus

log = structlog.get_logger("callcontrol.routing")

FALLBACK_VARIABLE = "CALLCONTROL_ONCALL"
REFRESH_SECONDS = 30.0
_REACHABLE = {AgentStatus.AVAILABLE, AgentStatus.RINGING, AgentStatus.ON_CALL, AgentStatus.WRAP_UP}


class DutyMirror:
    def __init__(self, ari: AriClient, state: StateLayer, on_call_hotlines: Sequence[str]) -> None:
        self._ari = ari
        self._state = state
        self._hotline = on_call_hotlines[0] if on_call_hotlines else None
        self._written: str | None = None  # what we last wrote ("" = deleted); None: not yet

    async def holder_number(self) -> str:
        """The mobile the fallback should ring now ("" when no holder has one)."""
        assert self._hotline is not None
        holders = [r.agent_id for r in await self._state.duty.holders(self._hotline)]
        states = {s.agent_id: s for s in await self._state.agents.states(holders)}
        mobiles = {}
        for agent_id in holders:
            mobile = (await self._state.agents.get_record(agent_id)).mobile
            if mobile:
                mobiles[agent_id] = mobile
        for agent_id in holders:
            s = states.get(agent_id)
            if agent_id in mobiles and s is not None and s.status in _REACHABLE and s.reachable:
                return mobiles[agent_id]
        return next((mobiles[a] for a in holders if a in mobiles), "")

    async def sync(self, *, force: bool = False) -> None:
        """Write the holder's number if it changed (or `force`). Never raises."""
        if self._hotline is None:
            return
        try:
            number = await self.holder_number()
            if number == self._written and not force:
                return
            params = {"variable": FALLBACK_VARIABLE, "value": number}  # "" = FALLBACK_ONCALL in the dialplan
            await self._ari.request("POST", "/asterisk/variable", params=params)
            if number != self._written:
                log.info("fallback_on_call_set", hotline=self._hotline, number=numbers.mask(number) if number
                         else None)
            self._written = number
        except AriError as exc:
            self._written = None  # try again at the next change or refresh
            log.warning("fallback_on_call_not_set", error=exc.message)
        except Exception as exc:  # Redis away: the last value written stays, which is the best we know
            log.warning("fallback_on_call_not_set", error=str(exc) or type(exc).__name__)

    async def on_connect(self) -> None:
        """Asterisk (re)connected: it may have restarted; write again."""
        await self.sync(force=True)

    async def run(self) -> None:
        if self._hotline is None:
            return
        async with asyncio.TaskGroup() as tg:
            tg.create_task(self._refresh())
            async for event in self._state.events.listen():
                if isinstance(event, DutyChanged | PresenceChanged | Resubscribed):
                    await self.sync()

    async def _refresh(self) -> None:
        while True:
            await asyncio.sleep(REFRESH_SECONDS)
            await self.sync(force=True)
