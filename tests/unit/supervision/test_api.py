"""The API over the switchboard use cases: what each role sees, what each action does, errors with a reason."""

from __future__ import annotations

from callcontrol.state import AgentRecord, Device, StateLayer
from callcontrol.supervision.auth import Role

from .conftest import auth, queue


async def test_hotlines_list_waiting_calls_with_wait_position_and_path_and_their_agents(client, state, clock):
    """A switchboard token sees each waiting call (masked caller, wait, position, IVR path) and the members."""
    await state.agents.login("alice", "softphone", now=clock.time())
    await queue(state, "c1", at=clock.time() - 42)
    await queue(state, "c2", at=clock.time() - 10)
    body = await (await client.get("/api/hotlines", headers=auth(Role.SWITCHBOARD))).json()
    etat = next(h for h in body["hotlines"] if h["hotline_id"] == "etat-civil")
    first, second = etat["waiting"]
    assert (first["call_id"], first["position"], first["caller"]) == ("c1", 1, "+33 6•• •• •• 78")
    assert 41 <= first["waited"] <= 44 and second["position"] == 2
    assert first["path"] == ["menu", "enqueue:etat-civil"]
    assert [(a["agent_id"], a["status"]) for a in etat["agents"]] == [("alice", "available")]


async def test_a_viewer_sees_no_pause_reason_no_device_no_path_and_no_caller_digit(client, state, clock):
    """Viewer: an agent is available / busy / away only, the caller has no digit, the call no IVR path."""
    await state.agents.login("alice", "softphone", now=clock.time())
    await state.agents.pause("alice", "médecin", now=clock.time())
    await queue(state, "c1", at=clock.time() - 5)
    agents = (await (await client.get("/api/agents", headers=auth(Role.VIEWER))).json())["agents"]
    alice = next(a for a in agents if a["agent_id"] == "alice")
    assert alice["status"] == "away" and alice["pause_reason"] is None and alice["device"] is None
    calls = (await (await client.get("/api/calls", headers=auth(Role.VIEWER))).json())["calls"]
    assert not any(ch.isdigit() for ch in calls[0]["caller"]) and calls[0]["path"] is None
    full = (await (await client.get("/api/agents", headers=auth(Role.SUPERVISOR))).json())["agents"]
    assert next(a for a in full if a["agent_id"] == "alice")["pause_reason"] == "médecin"


async def test_redirect_rings_the_chosen_agent_even_outside_the_hotline(client, state, clock, owner):
    """A call of état civil redirected to Bob (urbanisme only): the owner is asked to ring Bob, Bob is reserved."""
    await state.agents.login("bob", "softphone", now=clock.time())
    await queue(state, "c1", at=clock.time() - 5)
    response = await client.post("/api/calls/c1/redirect", json={"agent": "bob"}, headers=auth(Role.SWITCHBOARD))
    assert response.status == 200, await response.text()
    assert (await response.json())["agent_id"] == "bob"
    assert [(a.action, a.agent_id, a.owner) for a in owner] == [("redirect", "bob", "cc-a")]
    assert (await state.agents.get_state("bob")).reserved_by == "c1"


async def test_redirect_errors_say_why_unknown_call_404_busy_agent_409_bad_body_422_not_json_400(
    client, state, clock, owner
):
    """Unknown call 404, an agent who is not free 409 (her state named), a body without agent 422, not JSON 400."""
    headers = auth(Role.SWITCHBOARD)
    response = await client.post("/api/calls/nope/redirect", json={"agent": "bob"}, headers=headers)
    assert response.status == 404 and "nope" in (await response.json())["reason"]
    await queue(state, "c1", at=clock.time() - 5)
    response = await client.post("/api/calls/c1/redirect", json={"agent": "bob"}, headers=headers)
    assert response.status == 409 and "logged_out" in (await response.json())["reason"]
    response = await client.post("/api/calls/c1/redirect", json={"agnt": "bob"}, headers=headers)
    body = await response.json()
    assert response.status == 422 and body["error"] == "invalid" and "agent" in body["reason"]
    response = await client.post("/api/calls/c1/redirect", data=b"{nope", headers=headers)
    assert response.status == 400 and (await response.json())["error"] == "bad_json"
    assert (await client.get("/api/nothing-here", headers=headers)).status == 404


async def test_a_moved_call_keeps_its_waiting_time_and_its_arrival_order(client, state: StateLayer, clock, owner):
    """Moved to urbanisme, a call that waited 60 s still shows 60 s and goes before a call that came later."""
    await queue(state, "later", "urbanisme", at=clock.time() - 10)
    await queue(state, "c1", at=clock.time() - 60)
    response = await client.post("/api/calls/c1/move", json={"hotline": "urbanisme"}, headers=auth(Role.SWITCHBOARD))
    assert response.status == 200 and (await response.json())["position"] == 1
    calls = (await (await client.get("/api/calls?hotline=urbanisme", headers=auth(Role.VIEWER))).json())["calls"]
    assert [c["call_id"] for c in calls] == ["c1", "later"] and 59 <= calls[0]["waited"] <= 62
    assert [(a.action, a.hotline) for a in owner] == [("move", "urbanisme")]
    response = await client.post("/api/calls/c1/move", json={"hotline": "nope"}, headers=auth(Role.SWITCHBOARD))
    assert response.status == 404


async def test_pickup_rings_the_switchboard_phone_and_voicemail_asks_the_owner(client, state, clock, owner):
    """Pick up rings the agent whose softphone is the switchboard phone; voicemail is handed to the owner."""
    await state.agents.login("standard", "softphone", now=clock.time())
    await queue(state, "c1", at=clock.time() - 5)
    await queue(state, "c2", at=clock.time() - 4)
    response = await client.post("/api/calls/c1/pickup", headers=auth(Role.SWITCHBOARD))
    assert response.status == 200 and (await response.json())["agent_id"] == "standard"
    response = await client.post("/api/calls/c2/voicemail", headers=auth(Role.SWITCHBOARD))
    assert response.status == 200
    assert [(a.action, a.call_id) for a in owner] == [("redirect", "c1"), ("voicemail", "c2")]


async def test_a_redirect_nobody_rings_for_puts_the_call_back_and_is_409(client, state, clock):
    """No instance rings the agent within the confirmation time: 409, the call waits again, the agent is free."""
    await state.agents.login("bob", "softphone", now=clock.time())
    await queue(state, "c1", at=clock.time() - 5)
    response = await client.post("/api/calls/c1/redirect", json={"agent": "bob"}, headers=auth(Role.SWITCHBOARD))
    assert response.status == 409 and "could not be rung" in (await response.json())["reason"]
    assert (await state.queues.get_call("c1")).status.value == "waiting"
    assert (await state.agents.get_state("bob")).reserved_by is None


async def test_close_and_reopen_a_hotline_or_the_town_hall(client, state):
    """A switchboard closes état civil for 30 min and the whole town hall, then reopens; the hotline shows it."""
    headers = auth(Role.SWITCHBOARD)
    response = await client.post("/api/closures", json={"scope": "etat-civil", "minutes": 30}, headers=headers)
    assert response.status == 200 and (await response.json())["until"] is not None
    hotlines = (await (await client.get("/api/hotlines", headers=headers)).json())["hotlines"]
    assert next(h for h in hotlines if h["hotline_id"] == "etat-civil")["closed"] is True
    assert (await client.post("/api/closures", json={"scope": "all"}, headers=headers)).status == 200
    assert (await client.delete("/api/closures/all", headers=headers)).status == 200
    assert (await client.delete("/api/closures/etat-civil", headers=headers)).status == 200
    assert (await (await client.get("/api/closures", headers=headers)).json())["closures"] == []
    assert (await client.post("/api/closures", json={"scope": "nope"}, headers=headers)).status == 404
    assert (await client.post("/api/closures", json={"minutes": -1}, headers=headers)).status == 422


async def test_forced_presence_goes_through_the_use_cases_and_refusals_are_409(client, state, clock):
    """A supervisor logs Alice in, pauses and logs her out; a switchboard may not (403); logout while ringing 409."""
    sup = auth(Role.SUPERVISOR)
    assert (await client.post("/api/agents/alice/login", json={"device": "softphone"},
                              headers=auth(Role.SWITCHBOARD))).status == 403
    response = await client.post("/api/agents/alice/login", json={"device": "softphone"}, headers=sup)
    assert response.status == 200 and (await response.json())["status"] == "available"
    response = await client.post("/api/agents/alice/pause", json={"reason": "réunion"}, headers=sup)
    assert (await response.json())["reason"] == "réunion"
    assert (await client.post("/api/agents/alice/unpause", headers=sup)).status == 200
    await queue(state, "c1", at=clock.time() - 5)
    await state.queues.claim_call_for_agent("c1", "alice", instance="cc-a")
    response = await client.post("/api/agents/alice/logout", headers=sup)
    assert response.status == 409 and "ringing" in (await response.json())["reason"]
    assert (await client.post("/api/agents/zoe/logout", headers=sup)).status == 404
    assert (await client.post("/api/agents/alice/login", json={"device": "fax"}, headers=sup)).status == 422


async def test_the_last_on_call_member_is_let_go_only_by_a_forced_logout_which_is_audited(client, state):
    """The on-call guard holds through the API (409 with the reason); a supervisor's `force` lets her go, audited."""
    await state.agents.sync_agents(
        [AgentRecord(id="damien", name="Damien", mobile="+33612000001", hotlines={"astreinte": 0})],
        on_call=["astreinte"],
    )
    await state.agents.login("damien", Device.MOBILE)
    sup = auth(Role.SUPERVISOR)
    response = await client.post("/api/agents/damien/logout", json={}, headers=sup)
    assert response.status == 409 and "hand the duty over" in (await response.json())["reason"]
    response = await client.post("/api/agents/damien/logout", json={"force": True}, headers=sup)
    assert response.status == 200 and (await response.json())["status"] == "logged_out"
    audit = [f for _id, f in await state.store.redis.xrange("cc:audit") if f["agent"] == "damien"]
    assert audit and audit[-1]["forced"] == "1" and audit[-1]["by"] == "api"
