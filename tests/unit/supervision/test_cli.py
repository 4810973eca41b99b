"""`callcontrol hotlines | agents | calls | call ...`: readable tables over the switchboard use cases."""

from __future__ import annotations

import argparse
from types import SimpleNamespace

from callcontrol.__main__ import _parser
from callcontrol.cli import switchboard as cli
from callcontrol.state import AgentRecord

from .conftest import HOTLINES, queue


def config():
    return SimpleNamespace(
        hotlines=HOTLINES,
        agents=(AgentRecord(id="alice", name="Alice Martin", softphone="1001"),),
        settings=SimpleNamespace(http=SimpleNamespace(switchboard_phone="")),
    )


def args(*argv: str) -> argparse.Namespace:
    return _parser().parse_args(["--secrets", "/nonexistent", *argv])


async def test_hotlines_agents_and_calls_print_aligned_tables(state, clock, capsys) -> None:
    """One line per hotline (waiting, longest wait, agents by state), per agent (state, for how long), per call."""
    await state.agents.login("alice", "softphone", now=clock.time() - 125)
    await queue(state, "c1", at=clock.time() - 75)
    assert await cli.run(config(), args("hotlines"), state, clock) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[0].split() == ["HOTLINE", "NAME", "NOW", "WAITING", "LONGEST", "AVAILABLE", "BUSY", "AWAY"]
    assert out[1].split()[:6] == ["etat-civil", "État", "civil", "open", "1", "1"] and "1 min 15" in out[1]
    assert await cli.run(config(), args("agents"), state, clock) == 0
    alice = next(line for line in capsys.readouterr().out.splitlines() if line.startswith("alice"))
    assert "Alice Martin" in alice and "available" in alice and "2 min 05" in alice and "etat-civil" in alice
    assert await cli.run(config(), args("calls"), state, clock) == 0
    row = capsys.readouterr().out.splitlines()[1]
    assert row.split()[:3] == ["c1", "etat-civil", "1"] and "+33 6•• •• •• 78" in row and "menu >" in row


async def test_call_actions_say_why_they_are_refused(state, clock, capsys) -> None:
    """An unknown call is exit 4 with its reason; a move into the hotline it waits in is exit 1."""
    assert await cli.run(config(), args("call", "redirect", "nope", "alice"), state, clock) == cli.EXIT_NOT_FOUND
    assert "'nope' is not waiting" in capsys.readouterr().err
    await queue(state, "c1", at=clock.time() - 5)
    assert await cli.run(config(), args("call", "move", "c1", "etat-civil"), state, clock) == cli.EXIT_REFUSED
    assert "already waits" in capsys.readouterr().err
    assert await cli.run(config(), args("call", "move", "c1", "urbanisme"), state, clock) == 0
    assert "now waits in urbanisme, position 1" in capsys.readouterr().out
