"""The live wallboard in headless Chromium (Debian's, driven by playwright) on the real stack, and /metrics moving
during a call: a switchboard operator sees a SIPp citizen appear, redirects the call to an agent of another
hotline, and that agent's phone rings; a viewer sees the queue but no pause reason and no caller digit."""

from __future__ import annotations

import json
import socket
import urllib.request
from datetime import datetime
from pathlib import Path

from harness import wait_until
from hotline_kit import HOTLINE, hotlines_yaml
from prometheus_client.parser import text_string_to_metric_families

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
                 "--disable-sync", "--no-first-run"]  # docs: shared/notes/browser-tests.md
VIEWER = "viewer-token-for-the-test-01"
SWITCHBOARD = "switchboard-token-for-test-1"
SUPERVISOR = "supervisor-token-for-test-1"
CITIZEN = "0612345678"
MASKED = "•• 78"  # the end of the masked caller, +33 6•• •• •• 78
REASON = "rendez-vous médical"
SCREENSHOT = Path("wallboard.png")

AGENTS_YAML = json.dumps({"agents": [
    {"id": "bruno", "name": "Bruno Petit", "softphone": "1002", "hotlines": {HOTLINE: 0}},
    {"id": "chloe", "name": "Chloé Bernard", "softphone": "1003", "hotlines": {"urbanisme": 0}},
]}, ensure_ascii=False)
# In the page: when the first waiting call shows (window.seenAt, ms); the raw text of one /events board.
NOTE_FIRST_CALL = """() => new MutationObserver((_, observer) => {
  if (document.querySelector('[data-testid=waiting-call]')) { window.seenAt = Date.now(); observer.disconnect(); }
}).observe(document.body, {childList: true, subtree: true})"""
READ_ONE_BOARD = """async (token) => {
  const response = await fetch('/events', {headers: {Authorization: 'Bearer ' + token}});
  const reader = response.body.getReader();
  const decoder = new TextDecoder();
  let text = '';
  while (!/event: board\\ndata: .*\\n\\n/.test(text)) text += decoder.decode((await reader.read()).value);
  reader.cancel();
  return text;
}"""
FLOW = f"entry: {{inbound: main}}\nflows:\n  main:\n    - enqueue: {HOTLINE}\n    - hangup\n"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


Series = dict[tuple[str, frozenset], float]


def metrics(port: int) -> Series:
    """`curl /metrics` from loopback (no token): (name, labels) -> value."""
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5) as response:
        text = response.read().decode()
    return {(s.name, frozenset(s.labels.items())): s.value
            for family in text_string_to_metric_families(text) for s in family.samples}


def presence(port: int, agent: str, action: str, **body: str) -> None:
    """A supervisor's forced presence change through the API (quicker than a CLI process per change)."""
    request = urllib.request.Request(
        f"http://127.0.0.1:{port}/api/agents/{agent}/{action}", data=json.dumps(body).encode(), method="POST",
        headers={"Authorization": f"Bearer {SUPERVISOR}", "Content-Type": "application/json"},
    )
    with urllib.request.urlopen(request, timeout=5) as response:
        assert response.status == 200, response.read()


def series(values: Series, name: str, **labels: str) -> float:
    return values.get((name, frozenset(labels.items())), 0.0)


def log_time(line: dict) -> float:
    return datetime.fromisoformat(line["timestamp"].replace("Z", "+00:00")).timestamp()


def test_given_wallboard_when_citizen_waits_then_switchboard_sees_and_redirects_it_and_viewer_sees_no_private_detail(
    people, apps, redis_url, trace_dir
):
    """The switchboard's page shows the waiting citizen within 1 s, its "redirect" rings the chosen agent's phone;
    /metrics moves with the call; a viewer's page and stream carry no pause reason and no caller digit; the page
    comes back by itself after callcontrol restarts."""
    from playwright.sync_api import sync_playwright  # the test extra; bootstrap installs chromium

    assert Path(CHROMIUM).exists(), "Debian's chromium is missing: run scripts/bootstrap"
    port = free_port()
    config = apps.config({"flows/main.yaml": FLOW, "agents.yaml": AGENTS_YAML,
                          "hotlines.yaml": hotlines_yaml(name="État civil", overflow_when_nobody=False)})
    env = {"CALLCONTROL_HTTP_PORT": str(port),
           "CALLCONTROL_API_TOKENS": f"viewer:{VIEWER},switchboard:{SWITCHBOARD},supervisor:{SUPERVISOR}"}
    app = apps.start(config_dir=config, env=env)
    people.agent("1002")
    chloe = people.agent("1003", answer_after=0.3, hangup_after=4.0)  # talks longer than the whisper
    presence(port, "bruno", "login")
    presence(port, "bruno", "pause", reason=REASON)
    presence(port, "chloe", "login")
    before = metrics(port)
    assert series(before, "callcontrol_hotline_waiting", hotline=HOTLINE) == 0

    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            board = browser.new_page(viewport={"width": 1280, "height": 720})
            viewer = browser.new_page(viewport={"width": 1280, "height": 720})
            for page, token in ((board, SWITCHBOARD), (viewer, VIEWER)):
                page.goto(f"http://127.0.0.1:{port}/")
                page.fill("#token", token)
                page.click("#login button[type=submit]")
                page.wait_for_selector("[data-testid=status][data-state=live]", timeout=5000)
            board.evaluate(NOTE_FIRST_CALL)

            people.citizen(CITIZEN, hangup_after=30)
            queued = app.wait_for("call_step", step="queue:waiting", timeout=10)[0]
            board.wait_for_selector("[data-testid=waiting-call]", timeout=3000)
            shown_after = board.evaluate("window.seenAt") / 1000 - log_time(queued)
            assert shown_after < 1.0, f"the waiting citizen appeared {shown_after:.2f} s after being queued"
            during = metrics(port)
            assert series(during, "callcontrol_hotline_waiting", hotline=HOTLINE) == 1
            assert series(during, "callcontrol_calls_active") >= 1

            # What the viewer may see: the queue, never the reason or the caller (page and stream alike).
            viewer.wait_for_selector("[data-testid=waiting-call]", timeout=3000)
            assert MASKED in board.content() and REASON in board.content()  # the switchboard sees both
            seen = viewer.content()
            assert MASKED not in seen and REASON not in seen and 'data-action="redirect"' not in seen
            stream = viewer.evaluate(READ_ONE_BOARD, VIEWER)
            sent = json.loads(stream.split("data: ", 1)[1].split("\n", 1)[0])
            assert all(set(c) == {"position", "since"} for h in sent["hotlines"] for c in h["calls"]), sent
            assert not any("pause_reason" in a or "status" in a for a in sent["agents"]), sent["agents"]
            assert MASKED not in stream and REASON not in stream

            board.screenshot(path=str(trace_dir / SCREENSHOT), full_page=True)
            board.click("[data-testid=waiting-call] [data-action=redirect]")
            board.click("#action-choices [data-agent=chloe]")
            chloe.wait_until(lambda: chloe.received("INVITE"), 8, "chloe's phone rang for the redirected citizen")
            connected = app.wait_for("call_step", step="connected", timeout=10)[0]
            assert connected["agent"] == "chloe", connected
            board.wait_for_selector("[data-testid=waiting-call]", state="detached", timeout=3000)

            after = wait_until(lambda: (m := metrics(port)) and series(m, "callcontrol_calls_ended_total",
                                                                        outcome="answered") >= 1 and m,
                               10, "the answered call counted in /metrics")
            assert series(after, "callcontrol_hotline_waiting", hotline=HOTLINE) == 0
            assert series(after, "callcontrol_routing_latency_seconds_count") >= 1
            assert series(after, 'callcontrol_ari_request_duration_seconds_count',
                          operation="POST /channels/{id}/answer") >= 1

            # callcontrol restarts: the page says so and comes back live by itself, without a new log-in.
            app.stop()
            board.wait_for_selector("[data-testid=status][data-state=reconnecting]", timeout=5000)
            apps.start(config_dir=config, env=env)
            board.wait_for_selector("[data-testid=status][data-state=live]", timeout=5000)
        finally:
            browser.close()
