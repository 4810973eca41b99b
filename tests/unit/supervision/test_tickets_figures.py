"""Follow-up in the API: tickets (privacy per role, assign / done, the voicemail's WAV) and the day's figures,
counted as each call ends (followup's counters), the same numbers as `callcontrol stats` and the wallboard."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest
from aiohttp.test_utils import TestClient, TestServer

from callcontrol.agents.presence import Presence
from callcontrol.calls.outcome import CallFacts, FinishedCall, Outcome, journal_entry
from callcontrol.calls.port import PathStep
from callcontrol.followup.reading import FigureReading
from callcontrol.followup.recorder import FollowUp
from callcontrol.followup.voicemail import VoicemailAudio
from callcontrol.settings_sections import FollowUpSettings
from callcontrol.supervision.auth import FailureLimiter, Role, Tokens
from callcontrol.supervision.board import AgentInfo, BoardReader, HotlineInfo, board_view
from callcontrol.supervision.deps import SupervisionDeps
from callcontrol.supervision.figures import board_today
from callcontrol.supervision.server import build_web_app

from .conftest import TOKENS, ZONE, auth

WAV = b"RIFF\x24\x00\x00\x00WAVEfmt " + bytes(28)


class Recordings:
    """Asterisk's stored recordings (the ARI client's stored_recording_file), in memory."""

    def __init__(self) -> None:
        self.files = {"callcontrol-v1-abc": WAV}

    async def stored_recording_file(self, name: str) -> bytes:
        if name not in self.files:
            raise LookupError(name)
        return self.files[name]


def _line(call_id: str, started: float, steps: list[tuple[float, str, dict[str, Any]]], outcome: Outcome,
          duration: float, **facts: Any) -> dict[str, Any]:
    call = FinishedCall(call_id=call_id, kind="inbound", caller_raw="0611111111", dialled="0556000000",
                        started_at=started, duration=duration, outcome=outcome,
                        path=[PathStep(started + at, s, d) for at, s, d in steps], facts=CallFacts(**facts))
    return journal_entry(call, salt="salt", region="FR")


def answered(call_id: str, started: float, wait: float) -> dict[str, Any]:
    steps = [(0.0, "flow:main", {}), (2.5, "queue:waiting", {"hotline": "etat-civil"}),
             (2.5 + wait, "connected", {"agent": "alice", "hotline": "etat-civil"})]
    return _line(call_id, started, steps, Outcome.ANSWERED, 2.5 + wait + 60, hotline="etat-civil", agent="alice",
                 device="softphone", wait=wait)


def abandoned(call_id: str, started: float, after: float) -> dict[str, Any]:
    steps = [(0.0, "flow:main", {}), (2.5, "queue:waiting", {"hotline": "etat-civil"})]
    return _line(call_id, started, steps, Outcome.ABANDONED, 2.5 + after, hotline="etat-civil")


def voicemail(call_id: str, started: float, seconds: float = 6.0) -> dict[str, Any]:
    steps = [(0.0, "flow:main", {}), (2.5, "queue:waiting", {"hotline": "etat-civil"}),
             (12.5, "queue:timeout", {"hotline": "etat-civil", "waited": 10}), (12.5, "flow:voicemail", {}),
             (14.0, "record", {"name": f"callcontrol-{call_id}-abc", "duration": seconds, "ended_by": "dtmf"})]
    return _line(call_id, started, steps, Outcome.COMPLETED, 16 + seconds, hotline="etat-civil",
                 queue_result="timeout")


@pytest.fixture
def followup(state, clock) -> FollowUp:
    return FollowUp(state, FollowUpSettings(), ZONE, clock.time)


@pytest.fixture
def recordings() -> Recordings:
    return Recordings()


@pytest.fixture
async def api(state, clock, switchboard, recordings) -> AsyncIterator[TestClient]:
    deps = SupervisionDeps(switchboard=switchboard, presence=Presence(state, clock.time), state=state, clock=clock,
                           tokens=Tokens.of({r: [t] for r, t in TOKENS.items()}),
                           limiter=FailureLimiter(clock.monotonic), figures=FigureReading(state.figures, clock),
                           voicemail=VoicemailAudio(state.tickets, recordings))
    async with TestClient(TestServer(build_web_app(deps))) as test_client:
        yield test_client


async def _a_voicemail(followup: FollowUp, clock) -> str:
    """A 6-second message left 2 minutes ago on état civil; its ticket's id."""
    await followup.call_ended(voicemail("v1", clock.time() - 120), number="+33611111111")
    [ticket] = await followup_state(followup).tickets.list()
    return ticket.id


def followup_state(followup: FollowUp):
    return followup._state  # the fixture's own state layer (the same as `state`)


async def test_a_viewer_sees_the_tickets_without_any_caller_the_switchboard_with_the_number(api, followup, clock):
    """A voicemail ticket is listed for every role; a viewer gets no caller, number nor note (not even masked),
    the switchboard and supervisor the masked caller and the full number to call back."""
    await _a_voicemail(followup, clock)
    viewer = await (await api.get("/api/tickets", headers=auth(Role.VIEWER))).json()
    [seen] = viewer["tickets"]
    assert (seen["kind"], seen["hotline"], seen["status"], seen["has_audio"]) == (
        "voicemail", "etat-civil", "new", True)
    assert seen["caller"] is None and seen["number"] is None and seen["note"] is None
    assert "611111111" not in str(viewer) and "11 11" not in str(viewer)
    for role in (Role.SWITCHBOARD, Role.SUPERVISOR):
        [full] = (await (await api.get("/api/tickets", headers=auth(role))).json())["tickets"]
        assert full["number"] == "+33611111111" and full["caller"] and "611111111" not in full["caller"]
    assert (await api.get("/api/tickets")).status == 401


async def test_tickets_filter_by_status_and_hotline(api, followup, clock):
    """?status=open lists new and assigned ones, ?status=done the closed ones, ?hotline another hotline none;
    an unknown status is a 422."""
    ticket = await _a_voicemail(followup, clock)
    sb = auth(Role.SWITCHBOARD)

    async def ids(query: str) -> list[str]:
        return [t["id"] for t in (await (await api.get(f"/api/tickets?{query}", headers=sb)).json())["tickets"]]

    assert await ids("status=open") == [ticket] and await ids("status=done") == []
    assert await ids("hotline=urbanisme") == [] and await ids("hotline=etat-civil&status=new") == [ticket]
    assert (await api.get("/api/tickets?status=lost", headers=sb)).status == 422


async def test_the_switchboard_assigns_and_closes_a_ticket_and_the_number_is_forgotten(api, followup, clock):
    """Assign to Alice then done with a note (by api:switchboard): a viewer may do neither (403), an unknown
    ticket or agent is a 404, a done ticket cannot be closed again (409), and its number is gone."""
    ticket = await _a_voicemail(followup, clock)
    sb = auth(Role.SWITCHBOARD)
    assert (await api.post(f"/api/tickets/{ticket}/assign", json={"agent": "alice"},
                           headers=auth(Role.VIEWER))).status == 403
    assert (await api.post("/api/tickets/t999/assign", json={"agent": "alice"}, headers=sb)).status == 404
    assert (await api.post(f"/api/tickets/{ticket}/assign", json={"agent": "zoe"}, headers=sb)).status == 404
    body = await (await api.post(f"/api/tickets/{ticket}/assign", json={"agent": "alice"}, headers=sb)).json()
    assert (body["status"], body["assigned_to"]) == ("assigned", "alice")
    response = await api.post(f"/api/tickets/{ticket}/done", json={"note": "rappelée, acte envoyé"}, headers=sb)
    body = await response.json()
    assert response.status == 200 and (body["status"], body["done_by"]) == ("done", "api:switchboard")
    assert body["done_note"] == "rappelée, acte envoyé" and body["number"] is None
    again = await api.post(f"/api/tickets/{ticket}/done", json={}, headers=sb)
    assert again.status == 409 and (await again.json())["error"] == "ticket_done"
    assert (await api.post(f"/api/tickets/{ticket}/done", json={"who": "x"}, headers=sb)).status == 422


async def test_the_voicemail_audio_is_the_stored_wav_for_the_switchboard_only(api, followup, clock, recordings):
    """GET .../audio gives the recording's bytes as audio/wav to the switchboard; a viewer gets 403, an unknown
    ticket and a recording gone from Asterisk a JSON 404 with error and reason."""
    ticket = await _a_voicemail(followup, clock)
    response = await api.get(f"/api/tickets/{ticket}/audio", headers=auth(Role.SWITCHBOARD))
    assert response.status == 200 and response.content_type == "audio/wav" and await response.read() == WAV
    assert (await api.get(f"/api/tickets/{ticket}/audio", headers=auth(Role.VIEWER))).status == 403
    missing = await api.get("/api/tickets/t999/audio", headers=auth(Role.SUPERVISOR))
    assert missing.status == 404 and set(await missing.json()) == {"error", "reason"}
    recordings.files.clear()
    gone = await api.get(f"/api/tickets/{ticket}/audio", headers=auth(Role.SUPERVISOR))
    assert gone.status == 404 and (await gone.json())["error"] == "no_recording"


async def test_todays_figures_are_followups_counters_of_the_calls_ended_today(api, followup, clock):
    """Two calls today on état civil (one answered in 12 s, one abandoned after 40 s), one yesterday: today
    counts 2 calls, 1 answered within 20 s, 1 abandoned, taux de décroché 50 %; yesterday's day has its own."""
    now = clock.time()
    await followup.call_ended(answered("y", now - 86400, wait=5))
    await followup.call_ended(answered("a", now - 600, wait=12))
    await followup.call_ended(abandoned("b", now - 300, after=40))
    body = await (await api.get("/api/figures/today", headers=auth(Role.VIEWER))).json()
    etat = next(h for h in body["hotlines"] if h["hotline_id"] == "etat-civil")
    assert body["day"] == "2026-03-02" and body["calls"] == 2
    assert body["by_outcome"] == {"answered": 1, "abandoned": 1}
    assert (etat["calls"], etat["answered"], etat["answered_within_20s"], etat["abandoned"]) == (2, 1, 1, 1)
    assert etat["service_level"] == {"20": 0.5, "30": 0.5} and etat["pickup_rate"] == 0.5
    assert [h["hour"] for h in body["hours"]] == [9]
    day = await (await api.get("/api/figures?day=2026-03-01&hotline=etat-civil", headers=auth(Role.VIEWER))).json()
    assert [h["hotline_id"] for h in day["hotlines"]] == ["etat-civil"] and day["hotlines"][0]["answered"] == 1
    assert (await api.get("/api/figures?day=2026-13-45", headers=auth(Role.VIEWER))).status == 422
    assert (await api.get("/api/figures?hotline=nope", headers=auth(Role.VIEWER))).status == 404


async def test_the_wallboards_service_level_and_open_tickets_agree_with_the_api(api, state, followup, clock):
    """The tile's "service level today" is the API's service_level at 20 s, and it counts the open tickets."""
    now = clock.time()
    await followup.call_ended(answered("a", now - 600, wait=12))
    await followup.call_ended(answered("b", now - 500, wait=28))
    await _a_voicemail(followup, clock)
    reading = FigureReading(state.figures, clock)
    hotlines, agents = [HotlineInfo("etat-civil", "État civil")], [AgentInfo("alice", "Alice", ("etat-civil",))]
    reader = BoardReader(state, hotlines, agents, clock=clock.time, today=board_today(reading, ["etat-civil"]))
    [tile] = board_view(await reader.read(), "viewer")["hotlines"]
    body = await (await api.get("/api/figures/today", headers=auth(Role.VIEWER))).json()
    [etat] = [h for h in body["hotlines"] if h["hotline_id"] == "etat-civil"]
    assert tile["service_level"] == etat["service_level"]["20"] == round(1 / 3, 3)
    assert tile["open_tickets"] == 1
