"""`callcontrol tickets list|assign|done`, `stats`, `journal export` as the staff types them (cli/followup.py)."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from zoneinfo import ZoneInfo

import pytest

from callcontrol.__main__ import _parser
from callcontrol.cli import followup as cli
from callcontrol.clock import Clock
from callcontrol.configset import load_config_set
from callcontrol.followup.recorder import FollowUp
from callcontrol.state import StateLayer

from .calls import answered, voicemail
from .conftest import REPO_CONFIG, T0


@pytest.fixture
def config():
    return load_config_set(REPO_CONFIG, {}, check_softphones=False)


async def _run(config, state: StateLayer, *argv: str) -> int:
    clock = Clock(zone=ZoneInfo("Europe/Paris"))
    clock.offset = T0 + 600 - clock.time()  # the city clock reads 11:10 that morning

    @contextlib.asynccontextmanager
    async def opener(_config) -> AsyncIterator[tuple[StateLayer, Clock]]:
        yield state, clock

    return await cli.run(config, _parser().parse_args(list(argv)), opener)


async def test_tickets_are_listed_assigned_and_closed_from_the_command_line(
    config, state: StateLayer, followup: FollowUp, capsys
) -> None:
    """A message is listed as new, assigned to alice, done by alice with a note; then no open ticket is left."""
    await followup.call_ended(voicemail("c1", T0, seconds=6.0), number="+33611111111")
    capsys.readouterr()  # the app's log lines
    assert await _run(config, state, "tickets", "list") == 0
    listed = capsys.readouterr().out
    assert listed.startswith("t1\tnew\t2026-12-02 11:00\tvoicemail\tetat-civil\t") and "message 6 s" in listed
    assert "611111111" not in listed  # the number to call back is on the ticket, not printed in lists
    assert await _run(config, state, "tickets", "assign", "t1", "alice") == 0
    assert await _run(config, state, "tickets", "done", "t1", "alice", "--note", "rappelée") == 0
    assert capsys.readouterr().out == "t1: assigned to alice\nt1: done by alice\n"
    assert await _run(config, state, "tickets", "list") == 0
    assert capsys.readouterr().out == "no ticket\n"
    assert await _run(config, state, "tickets", "done", "t1", "bob") == 1  # already done: said, not redone
    assert "already done" in capsys.readouterr().err


async def test_stats_and_export_default_to_today(config, state: StateLayer, followup: FollowUp, capsys) -> None:
    """Without --day / --from, stats and the export are today's (the city clock's day)."""
    await followup.call_ended(answered("c1", T0, wait=12, talk=60))
    capsys.readouterr()
    assert await _run(config, state, "stats") == 0
    out = capsys.readouterr().out.splitlines()
    assert out[0].startswith("2026-12-02\toffered\tanswered") and out[2].startswith("etat-civil\t1\t1\t1\t1\t0\t100 %")
    assert await _run(config, state, "journal", "export") == 0
    rows = capsys.readouterr().out.splitlines()
    assert rows[0].startswith("call_id,kind,started") and rows[1].startswith("c1,inbound,2026-12-02T11:00:00+01:00")
