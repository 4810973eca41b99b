"""`callcontrol agent history / handover / on-duty`: what the operator reads."""

from __future__ import annotations

import argparse
from datetime import datetime
from zoneinfo import ZoneInfo

import fakeredis

from callcontrol.agents.presence import Presence
from callcontrol.cli.duty import duty_command
from callcontrol.clock import Clock
from callcontrol.state import AgentRecord, Device, StateLayer

PARIS = ZoneInfo("Europe/Paris")


def args(action: str, agent_id: str | None = None, **kw) -> argparse.Namespace:
    return argparse.Namespace(action=action, agent_id=agent_id, since=kw.get("since"), colleague=kw.get("to"),
                              force=False)


async def test_history_and_handover_from_the_command_line(capsys) -> None:
    """A refused logout, a forced one, a handover: the history table shows each with route, forced and actor."""
    redis = fakeredis.FakeAsyncRedis(decode_responses=True)
    clock = Clock(zone=PARIS, start_at=datetime(2026, 12, 2, 14, 2, tzinfo=PARIS))
    state = StateLayer.create(redis, clock=clock.time)
    await state.agents.sync_agents([
        AgentRecord(id="damien", name="Damien", mobile="+33612000001", hotlines={"astreinte": 0}),
        AgentRecord(id="emma", name="Emma", mobile="+33612000002", hotlines={"astreinte": 1}),
    ], on_call=["astreinte"])
    await state.duty.handover("emma", "damien")  # Damien alone on duty (logged in on his mobile by it)
    presence = Presence(state, clock.time)
    await presence.logout("damien", by="cli", force=True, actor="sophie")
    await presence.login("damien", Device.MOBILE, by="agents-line")
    capsys.readouterr()
    assert await duty_command(state, presence, clock, args("handover", "damien", to="emma")) == 0
    assert "damien -> emma: on duty for astreinte since 2026-12-02 14:02" in capsys.readouterr().out
    assert await duty_command(state, presence, clock, args("on-duty")) == 0
    assert "astreinte        emma         2026-12-02 14:02:00  damien" in capsys.readouterr().out
    assert await duty_command(state, presence, clock, args("history", "damien", since="1h")) == 0
    table = capsys.readouterr().out.splitlines()
    assert table[0].split() == ["WHEN", "AGENT", "WHAT", "BY", "FORCED", "ACTOR", "DETAIL"]
    forced = next(line for line in table if "logged_out" in line)
    assert "cli" in forced and "yes" in forced and "sophie" in forced and "left uncovered: astreinte" in forced
    assert any("handed over astreinte" in line and "to emma" in line for line in table)
    assert all(line.split()[2] == "damien" for line in table[1:])
    assert await duty_command(state, presence, clock, args("handover", "damien", to="damien")) == 1
    assert "themselves" in capsys.readouterr().err
    await redis.aclose()
