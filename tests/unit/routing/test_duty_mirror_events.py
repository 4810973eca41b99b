"""The fallback's duty mirror reads the duty again when the duty or a holder's presence changes, not at every
presence change of every agent (each of her calls publishes three or four)."""

from __future__ import annotations

import asyncio

import pytest

from callcontrol.routing.duty_mirror import DutyMirror
from callcontrol.state import AgentRecord, Device

from .kit import HOTLINE, StubAri, eventually

pytestmark = pytest.mark.looptime

DIRECTORY = [
    AgentRecord(id="damien", name="Damien", mobile="+33612000001", hotlines={HOTLINE: 0}),
    AgentRecord(id="paul", name="Paul", softphone="1004", hotlines={"urbanisme": 0}),
]


async def test_a_presence_change_of_an_agent_off_duty_reads_nothing_and_a_holders_does(state):
    """Paul (urbanisme, not in the on-call hotline) logging in and out leaves the mirror idle; Damien (its holder)
    logging in, then pausing, makes it read the duty again each time."""
    layer, _ = state
    await layer.agents.sync_agents(DIRECTORY, on_call=[HOTLINE])
    mirror = DutyMirror(StubAri(), layer, [HOTLINE])  # type: ignore[arg-type]
    reads: list[float] = []
    holders = layer.duty.holders

    async def counted(hotline):
        reads.append(asyncio.get_running_loop().time())
        return await holders(hotline)

    layer.duty.holders = counted  # type: ignore[method-assign]
    running = asyncio.create_task(mirror.run())
    try:
        await eventually(lambda: reads)  # the first subscription's sync
        await asyncio.sleep(0.1)
        before = len(reads)
        await layer.agents.login("paul", Device.SOFTPHONE)
        await layer.agents.logout("paul")
        await asyncio.sleep(0.1)
        assert len(reads) == before
        await layer.agents.login("damien", Device.MOBILE)
        await eventually(lambda: len(reads) > before)
        logged_in = len(reads)
        await layer.agents.pause("damien", "lunch", force=True)
        await eventually(lambda: len(reads) > logged_in)
    finally:
        running.cancel()
