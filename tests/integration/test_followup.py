"""Follow-up of every request on the real stack: a scripted morning of calls gives exactly the expected journal
entries and figures, the voicemail is a ticket whose audio (fetched through ARI) is the citizen's speech, and the
day's report is drawn (its chart screenshot kept as an artefact next to the test's traces)."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

from harness import REPO, ari_password, wait_until
from hotline_kit import HOTLINE, config_files, journal, login
from sipp import dtmf_plan

DAY = "2026-12-02"
SETTINGS = (REPO / "config" / "callcontrol.yaml").read_text(encoding="utf-8") + (
    "\nfollowup:\n  short_abandon: 3\n  service_levels: [20, 30]\n"
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
SPEECH = "Bonjour, je voudrais un acte de naissance pour mon fils. Merci de me rappeler."


def cli(config: Path, redis_url: str, *args: str) -> str:
    """`callcontrol ARGS...` as the town's staff types it; must succeed."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("CALLCONTROL_")}
    env.update(CALLCONTROL_REDIS_URL=redis_url, CALLCONTROL_ARI_PASSWORD=ari_password())
    done = subprocess.run(
        [sys.executable, "-m", "callcontrol", "--config", str(config), "--secrets", "/nonexistent", *args],
        cwd=REPO, env=env, capture_output=True, text=True, timeout=30,
    )  # fmt: skip
    assert done.returncode == 0, f"callcontrol {' '.join(args)}: {done.stdout}{done.stderr}"
    return done.stdout


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
    app = apps.start(config_dir=config, clock=f"{DAY}T10:00")
    people.agent("1001", answer_after=0.2)
    login(config, redis_url, "alice")
    speech, speech_seconds = speech_alaw(trace_dir)

    answered = people.citizen("0612345678", dtmf=dtmf_plan("1", first_pause=0.3), hangup_after=11)
    app.wait_for("call_step", step="connected", timeout=10)
    # The same citizen twice (a repeat caller), each with a phone of its own (SIPp directory, media socket).
    early = people.citizen("0698765432", dtmf=dtmf_plan("1", first_pause=0.3), hangup_after=1.8, name="early")
    late = people.citizen("0698765432", dtmf=dtmf_plan("1", first_pause=0.3), hangup_after=6, name="late")
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
    assert talk["offered"] == ["alice"] and talk["answered_by"] == "alice" and 8 < talk["talk_time"] < 12
    assert talk["queue_wait"] < 5 and talk["queue_entered"] < talk["queue_left"]
    abandons = sorted(e["abandoned_after"] for e in entries if e["result"] == "abandoned")
    assert abandons[0] < 3 <= abandons[1] < 8, abandons
    assert not any("612345678" in json.dumps(e) for e in entries)  # the journal keeps no full number

    # Figures as a person counts them: 3 calls reached etat-civil, 1 misdial left aside, 1 of 2 handled.
    stats = cli(config, redis_url, "stats", "--day", DAY).splitlines()
    head = stats[0].split("\t")
    row = dict(zip(head, next(line for line in stats if line.startswith(HOTLINE)).split("\t"), strict=True))
    counted = {k: row[k] for k in ("offered", "answered", "<=20s", "<=30s", "abandoned", "pickup", "voicemail",
                                   "repeat")}
    assert counted == {"offered": "3", "answered": "1", "<=20s": "1", "<=30s": "1", "abandoned": "1",
                       "pickup": "50 %", "voicemail": "1", "repeat": "1"}, stats
    every = dict(zip(head, next(line for line in stats if line.startswith("all")).split("\t"), strict=True))
    assert every["offered"] == "3", stats

    # The message is a new ticket of etat-civil; its audio, fetched from Asterisk, is the citizen's speech.
    tickets = cli(config, redis_url, "tickets", "list").splitlines()
    assert len(tickets) == 1 and "\tnew\t" in tickets[0] and f"\tvoicemail\t{HOTLINE}\t" in tickets[0], tickets
    ticket_id = tickets[0].split("\t")[0]
    wav = trace_dir / "voicemail.wav"
    cli(config, redis_url, "tickets", "audio", ticket_id, "--output", str(wav))
    seconds = float(subprocess.run(["soxi", "-D", str(wav)], capture_output=True, text=True, check=True).stdout)
    assert speech_seconds - 0.5 < seconds < speech_seconds + 4, (seconds, speech_seconds)
    assert sox_rms(wav) > 0.02, "the recording is silence, not the citizen's speech"
    cli(config, redis_url, "tickets", "assign", ticket_id, "alice")
    cli(config, redis_url, "tickets", "done", ticket_id, "alice", "--note", "rappelée")
    assert cli(config, redis_url, "tickets", "list").strip() == "no ticket"

    exported = cli(config, redis_url, "journal", "export", "--from", DAY, "--format", "jsonl").splitlines()
    assert sorted(json.loads(x)["result"] for x in exported) == sorted(r for _, r in results)

    report = trace_dir / "report.html"
    cli(config, redis_url, "report", "--day", DAY, "--output", str(report))
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
