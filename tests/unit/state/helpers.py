"""Test helpers: a settable clock, agent records, staffing a hotline."""

from __future__ import annotations

from callcontrol.state import AgentRecord, Device, StateLayer

T0 = 1_700_000_000.0
HOTLINE = "etat-civil"


class Clock:
    def __init__(self, t: float = T0) -> None:
        self.t = t

    def __call__(self) -> float:
        return self.t

    def advance(self, seconds: float) -> float:
        self.t += seconds
        return self.t


def agent(agent_id: str, hotlines: dict[str, int] | None = None, *, mobile: bool = False) -> AgentRecord:
    return AgentRecord(
        id=agent_id,
        name=f"Agent {agent_id}",
        softphone=agent_id,
        mobile="+33612345678" if mobile else None,
        hotlines=hotlines if hotlines is not None else {HOTLINE: 0},
    )


async def staff(state: StateLayer, clock: Clock, *ids: str, hotline: str = HOTLINE, penalties=None) -> None:
    """Configure agents on one hotline and log them in on their softphone, one second apart (oldest first)."""
    penalties = penalties or {}
    await state.agents.sync_agents([agent(a, {hotline: penalties.get(a, 0)}) for a in ids])
    for a in ids:
        await state.agents.login(a, Device.SOFTPHONE)
        clock.advance(1)
