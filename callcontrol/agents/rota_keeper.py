"""Membership of the on-call hotlines follows the rota: at each shift change, once for all instances.

Every instance checks every `TICK_SECONDS` which shift runs now; the state script applies a shift once (a Redis key
per hotline and shift start decides), so the shift change happens exactly once whoever sees it first, and a
handover made during a shift is not undone before the next one.
"""

from __future__ import annotations

import asyncio

import structlog

from callcontrol.agents.rota import Rota
from callcontrol.clock import Clock
from callcontrol.state.layer import StateLayer

log = structlog.get_logger("callcontrol.agents.rota")

TICK_SECONDS = 5.0


class RotaKeeper:
    def __init__(self, state: StateLayer, rota: Rota, clock: Clock) -> None:
        self._duty = state.duty
        self._rota = rota
        self._clock = clock

    async def tick(self) -> list[str]:
        """Apply the shifts that began and were not applied yet; the hotlines changed."""
        now = self._clock.now()
        changed = []
        for hotline in self._rota.hotlines:
            shift = self._rota.shift_at(hotline, now)
            if shift is None:
                continue
            result = await self._duty.shift(hotline, shift.start.isoformat(), shift.agents, now=self._clock.time())
            if not result.applied:
                continue
            changed.append(hotline)
            if result.kept:
                log.error("rota_shift_not_taken", hotline=hotline, wanted=list(shift.agents), kept=list(result.kept),
                          hint="nobody of the shift can be reached: the previous holders stay on duty")
            else:
                log.info("rota_shift", hotline=hotline, start=shift.start.isoformat(), holders=list(result.holders),
                         skipped=list(result.skipped) or None)
        return changed

    async def run(self) -> None:
        if not self._rota.hotlines:
            return
        while True:
            try:
                await self.tick()
            except Exception as exc:  # Redis away: the next tick applies the shift
                log.warning("rota_tick_failed", error=str(exc) or type(exc).__name__)
            await asyncio.sleep(TICK_SECONDS)
