"""The dialplan fallback follows the duty: the current on-call holder's mobile, in an Asterisk global and in AstDB.

With callcontrol down, asterisk-conf/extensions.conf's [fallback-public] dials `${CALLCONTROL_ONCALL}`, else
`${DB(callcontrol/oncall)}`, else the FALLBACK_ONCALL global. The global (ARI, instant) does not survive an Asterisk
restart; AstDB does, but ARI cannot write it (`DB()` is a "dangerous" function Asterisk blocks on every TCP/TLS
interface unless `live_dangerously`), so it goes through AMI DBPut (callcontrol/ami.py, when `ami:` is configured).
A failed AMI write is logged once and retried at the next sync. Every instance keeps both true: at start, at each
duty or presence change (events), and every `REFRESH_SECONDS` (the global always, AstDB when it changed or failed);
writing the same value twice is harmless. The holder is the first
reachable one (by rank) with a mobile on the first on-call hotline of hotlines.yaml, else its first holder with a
mobile (she is on duty even if her phone is away); none at all: "" (the dialplan's default).
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from typing import Protocol

import structlog

from callcontrol import numbers
from callcontrol.ari.client import AriClient
from callcontrol.ari.errors import AriError
from callcontrol.state.events import DutyChanged, PresenceChanged, Resubscribed
from callcontrol.state.layer import StateLayer
from callcontrol.state.models import AgentStatus

log = structlog.get_logger("callcontrol.routing")

FALLBACK_VARIABLE = "CALLCONTROL_ONCALL"
DB_FAMILY, DB_KEY = "callcontrol", "oncall"  # ${DB(callcontrol/oncall)} in the dialplan
REFRESH_SECONDS = 30.0
_REACHABLE = {AgentStatus.AVAILABLE, AgentStatus.RINGING, AgentStatus.ON_CALL, AgentStatus.WRAP_UP}


class AstDb(Protocol):
    """What the mirror needs of AMI (callcontrol.ami.AmiClient); raises on failure."""

    async def db_put(self, family: str, key: str, value: str) -> None: ...
    async def db_del(self, family: str, key: str) -> None: ...


class DutyMirror:
    def __init__(
        self, ari: AriClient, state: StateLayer, on_call_hotlines: Sequence[str], astdb: AstDb | None = None
    ) -> None:
        self._ari = ari
        self._state = state
        self._astdb = astdb
        self._hotline = on_call_hotlines[0] if on_call_hotlines else None
        self._written: str | None = None  # what we last wrote ("" = deleted); None: not yet
        self._stored: str | None = None  # the same for AstDB
        self._store_failing = False  # a failure is logged once, until a write succeeds again
        self._holders: frozenset[str] | None = None  # the duty's holders at the last read; None: not read yet

    async def holder_number(self) -> str:
        """The mobile the fallback should ring now ("" when no holder has one)."""
        assert self._hotline is not None
        holders = [r.agent_id for r in await self._state.duty.holders(self._hotline)]
        self._holders = frozenset(holders)
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
        number = await self._holder_or_none()
        if number is None:
            return
        await self._set_global(number, force=force)
        await self._store(number, force=force)

    async def _set_global(self, number: str, *, force: bool) -> None:
        if number == self._written and not force:
            return
        try:
            params = {"variable": FALLBACK_VARIABLE, "value": number}  # "" = FALLBACK_ONCALL in the dialplan
            await self._ari.request("POST", "/asterisk/variable", params=params)
            if number != self._written:
                log.info("fallback_on_call_set", hotline=self._hotline, number=numbers.mask(number) if number
                         else None)
            self._written = number
        except Exception as exc:  # AriError, or the HTTP connection itself: try again at the next change or refresh
            self._written = None
            log.warning("fallback_on_call_not_set", error=exc.message if isinstance(exc, AriError) else
                        str(exc) or type(exc).__name__)

    async def _store(self, number: str, *, force: bool) -> None:
        """AstDB persists: written when the number changes, after a failure, or when Asterisk (re)connects."""
        if self._astdb is None or (number == self._stored and not force):
            return
        try:
            if number:
                await self._astdb.db_put(DB_FAMILY, DB_KEY, number)
            else:  # nobody with a mobile: the dialplan's FALLBACK_ONCALL
                await self._astdb.db_del(DB_FAMILY, DB_KEY)
        except Exception as exc:  # AMI away, refused, timed out: the global still holds it until a restart
            self._stored = None  # try again at the next sync
            if not self._store_failing:
                log.warning("fallback_on_call_not_stored", error=str(exc) or type(exc).__name__)
            self._store_failing = True
            return
        if number != self._stored or self._store_failing:
            log.info("fallback_on_call_stored", hotline=self._hotline, number=numbers.mask(number) if number
                     else None)
        self._stored = number
        self._store_failing = False

    async def on_connect(self) -> None:
        """Asterisk (re)connected: it may have restarted; write again."""
        await self.sync(force=True)

    async def run(self) -> None:
        if self._hotline is None:
            return
        async with asyncio.TaskGroup() as tg:
            tg.create_task(self._refresh())
            async for event in self._state.events.listen(DutyChanged, PresenceChanged):
                if isinstance(event, PresenceChanged) and not self._concerns_duty(event):
                    continue
                if isinstance(event, DutyChanged | PresenceChanged | Resubscribed):
                    await self.sync()

    def _concerns_duty(self, event: PresenceChanged) -> bool:
        """Only a holder's presence can change who the fallback rings. Every agent's every call publishes three or
        four presence changes (ringing, on call, available), and each sync reads the duty, the holders' states and
        records: several Redis round trips per change, for nothing when she is not on duty. A new holder comes
        with DutyChanged (or the 30 s refresh, after a directory reload), which reads the holders again."""
        return self._holders is None or event.agent_id in self._holders

    async def _refresh(self) -> None:
        while True:
            await asyncio.sleep(REFRESH_SECONDS)
            number = await self._holder_or_none()
            if number is not None:  # the global again (Asterisk may have restarted); AstDB when it changed
                await self._set_global(number, force=True)
                await self._store(number, force=False)

    async def _holder_or_none(self) -> str | None:
        try:
            return await self.holder_number()
        except Exception as exc:  # Redis away: the last value written stays, which is the best we know
            log.warning("fallback_on_call_not_set", error=str(exc) or type(exc).__name__)
            return None
