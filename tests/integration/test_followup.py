"""Follow-up of every request on the real stack: a scripted morning of calls gives exactly the expected journal
entries and figures, the voicemail is a ticket whose audio (fetched through ARI) is the citizen's speech, and the
day's report is drawn (its chart screenshot kept as an artefact next to the test's traces)."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import urllib.request
from pathlib import Path

import redis
from harness import REPO, ari_password, wait_until
from hotline_kit import HOTLINE, config_files, journal, login
from sipp import dtmf_plan

DAY = "2026-12-02"
SETTINGS = (REPO / "config" / "callcontrol.yaml").read_text(encoding="utf-8") + (
    "\nfollowup:\n  short_abandon: 2\n  service_levels: [20, 30]\n"
)
FLOW = f"""entry: {{inbound: main}}
flows:
  main:
    - gather: {{prompt: callcontrol/call-taken, timeout: 3, retries: 0,
                on: {{1: queue, 2: flow:message, 3: flow:closed}}}}
    - id: queue
      enqueue: {HOTLINE}
    - hangup
  message:
    - record: {{max_seconds: 15, silence_seconds: 4, hotline: {HOTLINE}, review: true}}
    - play: callcontrol/goodbye
    - hangup
  closed:
    - play: callcontrol/call-taken
    - hangup
"""
SPEECH = "Bonjour, rappelez-moi pour mon acte de naissance."
TOKENS = {"viewer": "it-viewer-token-000001", "switchboard": "it-switchboard-token-01"}
API_ENV = {"CALLCONTROL_HTTP_PORT": "0", "CALLCONTROL_API_TOKENS": ",".join(f"{r}:{t}" for r, t in TOKENS.items())}


def api_get(port: int, path: str, role: str) -> tuple[str, bytes]:
    """GET through the supervision API with that role's token: (content type, body)."""
    request = urllib.request.Request(f"http://127.0.0.1:{port}{path}")
    request.add_header("Authorization", f"Bearer {TOKENS[role]}")
    with urllib.request.urlopen(request, timeout=10) as response:
        return response.headers.get_content_type(), response.read()


def cli(config: Path, redis_url: str, *commands: list[str]) -> list[str]:
    """`callcontrol ARGS...` as the town's staff types them (run side by side: each start costs ~2 s); each must
    succeed. Their outputs, in order."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("CALLCONTROL_")}
    env.update(CALLCONTROL_REDIS_URL=redis_url, CALLCONTROL_ARI_PASSWORD=ari_password())
    base = [sys.executable, "-m", "callcontrol", "--config", str(config), "--secrets", "/nonexistent"]
    pipes = {"stdout": subprocess.PIPE, "stderr": subprocess.PIPE, "text": True}
    runs = [subprocess.Popen([*base, *args], cwd=REPO, env=env, **pipes) for args in commands]
    outputs = []
    for args, run in zip(commands, runs, strict=True):
        out, err = run.communicate(timeout=30)
        assert run.returncode == 0, f"callcontrol {' '.join(args)}: {out}{err}"
        outputs.append(out)
    return outputs


def tickets(redis_url: str) -> list[dict[str, str]]:
    client = redis.Redis.from_url(redis_url, decode_responses=True)
    try:
        return [client.hgetall(f"cc:ticket:{t}") for t in client.zrange("cc:tickets", 0, -1)]
    finally:
        client.close()


def speech_alaw(workdir: Path) -> tuple[bytes, float]:
    """The citizen's message as 8 kHz A-law (espeak-ng + sox) and its length in seconds."""
    wav, raw = workdir / "speech.wav", workdir / "speech.alaw"
    subprocess.run(["espeak-ng", "-v", "fr", "-s", "160", "-w", str(wav), SPEECH], check=True, capture_output=True)
    subprocess.run(["sox", str(wav), "-r", "8000", "-c", "1", "-t", "al", str(raw)], check=True, capture_output=True)
    audio = raw.read_bytes()
    return audio, len(audio) / 8000


def sox_rms(path: Path) -> float:
    stat = subprocess.run(["sox", str(path), "-n", "stat"], capture_output=True, text=True, check=True).stderr
    return float(next(line for line in stat.splitlines() if line.startswith("RMS")).split()[-1])


def test_given_a_scripted_morning_when_calls_end_then_journal_figures_voicemail_ticket_and_report_follow(
    people, apps, redis_url, trace_dir
):
    """Answered, abandoned early (a misdial, not counted) and late, a voicemail, a closed call: one journal entry
    each with its result; the day's figures as counted by hand; the message is a ticket whose WAV is the speech."""
    config = apps.config({**config_files(wrap_up=1), "flows/main.yaml": FLOW, "callcontrol.yaml": SETTINGS})
    app = apps.start(config_dir=config, clock=f"{DAY}T10:00", env=API_ENV)
    port = app.wait_for("http_listening", timeout=10)[0]["port"]
    people.agent("1001", answer_after=0.2)
    login(config, redis_url, "alice")
    speech, speech_seconds = speech_alaw(trace_dir)

    answered = people.citizen("0612345678", dtmf=dtmf_plan("1", first_pause=0.3), hangup_after=7)
    app.wait_for("call_step", step="connected", timeout=10)
    # The same citizen twice (a repeat caller), each with a phone of its own (SIPp directory, media socket).
    early = people.citizen("0698765432", dtmf=dtmf_plan("1", first_pause=0.3), hangup_after=1.3, name="early")
    late = people.citizen("0698765432", dtmf=dtmf_plan("1", first_pause=0.3), hangup_after=4, name="late")
    # The message: 2, the beep, the speech, # ends it; the review prompt, 3 sends it; the flow says goodbye.
    message = people.citizen(
        "0611111111", dtmf=[(0.3, "2"), (2.5 + speech_seconds, "#"), (1.0, "3")], speech=(1.8, speech),
        hangup_after=40,
    )
    closed = people.citizen("0622222222", dtmf=dtmf_plan("3", first_pause=0.3), hangup_after=20)
    for citizen in (answered, early, late, message, closed):
        assert citizen.wait(30) == 0, citizen.describe()

    entries = wait_until(lambda: len(journal(redis_url)) >= 5 and journal(redis_url), 5, "five journal entries")
    results = sorted((e["caller"][-2:], e["result"]) for e in entries)
    assert results == [("11", "voicemail"), ("22", "closed"), ("32", "abandoned"), ("32", "abandoned"),
                       ("78", "answered")], entries
    talk = next(e for e in entries if e["result"] == "answered")
    assert talk["offered"] == ["alice"] and talk["answered_by"] == "alice"
    assert talk["queue_wait"] < 5 and talk["queue_entered"] < talk["queue_left"]
    # Talk time: from the agent's answer to the end of the call (the citizen hung up 7 s after the answer).
    assert 3 < talk["talk_time"] < 7 and abs(talk["talk_time"] - (talk["duration"] - talk["queue_left"])) < 0.01, talk
    abandons = sorted(e["abandoned_after"] for e in entries if e["result"] == "abandoned")
    assert abandons[0] < 2 <= abandons[1] < 5, abandons
    assert not any("612345678" in json.dumps(e) for e in entries)  # the journal keeps no full number

    # The message is a new ticket of etat-civil, with the number to call back (on the ticket only).
    [ticket] = tickets(redis_url)
    assert (ticket["kind"], ticket["hotline"], ticket["status"], ticket["number"]) == (
        "voicemail", HOTLINE, "new", "+33611111111")

    # What the staff reads: the figures, the open tickets, the message's audio (fetched from Asterisk), the report.
    wav, report = trace_dir / "voicemail.wav", trace_dir / "report.html"
    stats, listed, _, _ = cli(
        config, redis_url, ["stats", "--day", DAY], ["tickets", "list"],
        ["tickets", "audio", ticket["id"], "--output", str(wav)], ["report", "--day", DAY, "--output", str(report)],
    )
    # Figures as a person counts them: 3 calls reached etat-civil, 1 misdial left aside, 1 of 2 handled.
    lines = stats.splitlines()
    head = lines[0].split("\t")
    row = dict(zip(head, next(line for line in lines if line.startswith(HOTLINE)).split("\t"), strict=True))
    counted = {k: row[k] for k in ("offered", "answered", "<=20s", "<=30s", "abandoned", "pickup", "voicemail",
                                   "repeat")}
    assert counted == {"offered": "3", "answered": "1", "<=20s": "1", "<=30s": "1", "abandoned": "1",
                       "pickup": "50 %", "voicemail": "1", "repeat": "1"}, stats
    every = dict(zip(head, next(line for line in lines if line.startswith("all")).split("\t"), strict=True))
    assert every["offered"] == "3", stats
    assert listed.startswith(f"{ticket['id']}\tnew\t") and f"\tvoicemail\t{HOTLINE}\t" in listed, listed

    # The ticket's audio is a playable WAV of the citizen's speech.
    seconds = float(subprocess.run(["soxi", "-D", str(wav)], capture_output=True, text=True, check=True).stdout)
    assert speech_seconds - 0.5 < seconds < speech_seconds + 4, (seconds, speech_seconds)
    assert sox_rms(wav) > 0.02, "the recording is silence, not the citizen's speech"

    # The same ticket and WAV through the authenticated API: a viewer sees no caller; the switchboard downloads it.
    _, seen = api_get(port, "/api/tickets?status=open", "viewer")
    [listed_ticket] = json.loads(seen)["tickets"]
    assert listed_ticket["id"] == ticket["id"] and listed_ticket["caller"] is None and b"611111111" not in seen
    kind, audio = api_get(port, f"/api/tickets/{ticket['id']}/audio", "switchboard")
    assert kind == "audio/wav" and audio == wav.read_bytes()
    via_api = trace_dir / "voicemail-api.wav"
    via_api.write_bytes(audio)
    assert float(subprocess.run(["soxi", "-D", str(via_api)], capture_output=True, text=True,
                                check=True).stdout) == seconds
    _, day = api_get(port, f"/api/figures?day={DAY}&hotline={HOTLINE}", "viewer")
    [line] = json.loads(day)["hotlines"]
    assert (line["offered"], line["answered"], line["voicemail"], line["pickup_rate"]) == (3, 1, 1, 0.5), line

    page = report.read_text(encoding="utf-8")
    assert "Taux de décroché" in page and "50 %" in page and "<svg" in page
    screenshot(report, trace_dir / "report.png")


def screenshot(page: Path, target: Path) -> None:
    """The report as the town sees it, kept as an artefact (chromium when installed; else the HTML is the artefact)."""
    browser = shutil.which("chromium") or shutil.which("chromium-browser")
    if browser is None:
        return
    subprocess.run(
        [browser, "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
         "--disable-component-update", "--disable-sync", "--no-first-run", "--window-size=800,1130",
         f"--screenshot={target}", page.as_uri()],
        capture_output=True, timeout=60, check=False,
    )  # fmt: skip
    assert target.is_file() and target.stat().st_size > 10_000, f"no screenshot of {page}"
