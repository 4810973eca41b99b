"""The switchboard's HTTP API end to end: callcontrol (real process) + Asterisk + Redis + SIPp. Auth and error
answers; a waiting citizen sent to voicemail records a message; another moved to another hotline (its waiting
time kept) and redirected to an agent routing would not give it to: her SIPp phone receives the INVITE."""

from __future__ import annotations

import json
import time
import urllib.error
import urllib.request
from typing import Any

from harness import wait_until
from hotline_kit import HOTLINE, hotlines_yaml, journal, login

TOKENS = {"viewer": "it-viewer-token-000001", "switchboard": "it-switchboard-token-01",
          "supervisor": "it-supervisor-token-001"}
OTHER = "urbanisme"
FLOW = f"""entry: {{inbound: main}}
flows:
  main:
    - enqueue: {{hotline: {HOTLINE}, on: {{timeout: flow:voicemail}}}}
    - hangup
  voicemail:
    - record: {{max_seconds: 2}}
    - hangup
"""
AGENTS = json.dumps({"agents": [
    {"id": "alice", "name": "Alice Martin", "softphone": "1001", "hotlines": {HOTLINE: 0}},
    {"id": "bruno", "name": "Bruno Petit", "softphone": "1002", "hotlines": {OTHER: 0}},
]})


class Api:
    def __init__(self, port: int) -> None:
        self.base = f"http://127.0.0.1:{port}"

    def __call__(self, method: str, path: str, role: str | None = None, body: Any = None,
                 raw: bytes | None = None) -> tuple[int, Any]:
        data = raw if raw is not None else (json.dumps(body).encode() if body is not None else None)
        request = urllib.request.Request(self.base + path, data=data, method=method)
        if role:
            request.add_header("Authorization", f"Bearer {TOKENS[role]}")
        request.add_header("Content-Type", "application/json")
        try:
            with urllib.request.urlopen(request, timeout=10) as response:
                return response.status, json.loads(response.read() or b"null")
        except urllib.error.HTTPError as exc:
            return exc.code, json.loads(exc.read() or b"null")


def test_given_a_waiting_citizen_when_the_switchboard_moves_then_redirects_it_then_the_chosen_agent_rings(
    people, apps, redis_url
):
    """401 / 403 / 422 / 404 with reasons; voicemail records; a move keeps the wait; a redirect rings the phone."""
    config = apps.config({"flows/main.yaml": FLOW, "agents.yaml": AGENTS,
                          "hotlines.yaml": hotlines_yaml(overflow_when_nobody=False)})
    env = {"CALLCONTROL_HTTP_PORT": "0", "CALLCONTROL_API_TOKENS": ",".join(f"{r}:{t}" for r, t in TOKENS.items())}
    app = apps.start(config_dir=config, env=env)
    api = Api(app.wait_for("http_listening", timeout=10)[0]["port"])

    assert api("GET", "/api/hotlines")[0] == 401
    status, body = api("POST", "/api/calls/x/redirect", "viewer", {"agent": "alice"})
    assert (status, body["error"]) == (403, "forbidden")
    status, body = api("POST", "/api/calls/x/redirect", "switchboard", {"agent": 12})
    assert status == 422 and "agent" in body["reason"]
    status, body = api("POST", "/api/calls/no-such-call/redirect", "switchboard", {"agent": "alice"})
    assert status == 404 and "no-such-call" in body["reason"]

    alice = people.agent("1001", answer_after=0.3, hangup_after=5.0)  # after the whisper
    citizen = people.citizen("0612345678", hangup_after=40)
    calls = wait_until(lambda: api("GET", "/api/calls", "switchboard")[1]["calls"], 10, "the citizen waiting")
    call_id = calls[0]["call_id"]
    assert (calls[0]["hotline"], calls[0]["caller"]) == (HOTLINE, "+33 6•• •• •• 78")

    caller = people.citizen("0698765432", hangup_after=40)  # this one is sent to voicemail
    two = wait_until(lambda: len(calls := api("GET", "/api/calls", "switchboard")[1]["calls"]) == 2 and calls, 10,
                     "two citizens waiting")
    other_id = two[1]["call_id"]
    status, body = api("POST", f"/api/calls/{other_id}/voicemail", "switchboard")
    assert status == 200, body
    recorded = app.wait_for("call_step", step="record", timeout=10)[0]
    assert recorded["call_id"] == other_id
    assert caller.wait(10) == 0, caller.describe()
    entry = wait_until(lambda: [e for e in journal(redis_url) if e["call_id"] == other_id], 5, "journal")[0]
    assert entry["queue_result"] == "voicemail" and [c["call_id"] for c in api("GET", "/api/calls", "viewer")[1][
        "calls"]] == [call_id]
    time.sleep(2.0)
    status, body = api("POST", f"/api/calls/{call_id}/move", "switchboard", {"hotline": OTHER})
    assert status == 200, body
    app.wait_for("call_step", step="queue:moved", timeout=5)
    moved = api("GET", f"/api/calls?hotline={OTHER}", "viewer")[1]["calls"]
    assert [c["call_id"] for c in moved] == [call_id] and moved[0]["waited"] >= 2.0, moved
    assert not any(ch.isdigit() for ch in moved[0]["caller"])  # a viewer sees no digit of the caller

    login(config, redis_url, "alice")  # serves état civil only: routing never gives her this urbanisme call
    time.sleep(0.5)
    assert not alice.received("INVITE"), alice.describe()
    status, body = api("POST", f"/api/calls/{call_id}/redirect", "switchboard", {"agent": "alice"})
    assert status == 200 and body["agent_id"] == "alice", body
    alice.wait_until(lambda: alice.received("INVITE"), 5, "INVITE to alice after the redirect")
    connected = app.wait_for("call_step", step="connected", timeout=10)[0]
    assert connected["agent"] == "alice"
    assert citizen.wait(15) == 0, citizen.describe()
