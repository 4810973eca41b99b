"""The board a browser receives: what each role may see, and the figures the metrics publish."""

from __future__ import annotations

import json

from callcontrol.state import StateLayer
from callcontrol.supervision.board import BoardReader, board_view

from .conftest import CALLER_MASKED


async def test_viewer_sees_agents_as_available_busy_away_without_pause_reason_or_caller(
    staffed: StateLayer, reader: BoardReader
):
    """A viewer's board names no pause reason, device, call id or caller (not even masked)."""
    view = board_view(await reader.read(), "viewer")
    text = json.dumps(view, ensure_ascii=False)
    assert "médical" not in text and "78" not in text.replace(str(view["now"]), "") and "c1" not in text
    states = {a["id"]: a["state"] for a in view["agents"]}
    assert states == {"alice": "available", "bob": "away", "carole": "away"}
    assert all(set(a) == {"id", "name", "hotlines", "state", "since"} for a in view["agents"])
    tile = view["hotlines"][0]
    assert tile["waiting"] == 1 and tile["calls"] == [{"position": 1, "since": tile["calls"][0]["since"]}]


async def test_switchboard_sees_the_call_to_act_on_and_the_pause_reason(staffed: StateLayer, reader: BoardReader):
    """The switchboard gets the call id (for its actions), the masked caller and why an agent is away."""
    view = board_view(await reader.read(), "switchboard")
    call = view["hotlines"][0]["calls"][0]
    assert call["id"] == "c1" and call["caller"] == CALLER_MASKED
    bob = next(a for a in view["agents"] if a["id"] == "bob")
    assert bob["status"] == "paused" and bob["pause_reason"] == "rendez-vous médical"


async def test_tile_counts_longest_wait_and_service_level_of_today(staffed: StateLayer, reader: BoardReader):
    """One tile per hotline: waiting now, longest wait, agents available / busy / away, today's service level."""
    view = board_view(await reader.read(), "viewer")
    civil, astreinte = view["hotlines"]
    assert civil["longest_wait"] == 30.0
    assert civil["agents"] == {"available": 1, "busy": 0, "away": 1}
    assert civil["service_level"] == 0.5 and civil["queued_today"] == 4
    assert astreinte["service_level"] is None and astreinte["on_call"] is True


async def test_metrics_figures_flag_an_on_call_hotline_with_nobody_reachable(staffed: StateLayer, reader: BoardReader):
    """Carole (the only on-call agent) is logged out: the on-call hotline counts 0 reachable."""
    figures = {f.hotline: f for f in (await reader.read()).figures()}
    assert figures["astreinte"].on_call and figures["astreinte"].reachable == 0
    assert figures["etat-civil"].reachable == 1
    assert figures["etat-civil"].agents == {"available": 1, "paused": 1}
    assert figures["etat-civil"].waiting == 1 and figures["etat-civil"].longest_wait == 30.0
