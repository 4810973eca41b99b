"""`callcontrol journal export`, `tickets list|assign|done|audio`, `stats`, `report`: the follow-up of requests.

Light to import (the parser is built from it); followup/ and the state layer are imported when a command runs."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable
from contextlib import AbstractAsyncContextManager
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from callcontrol.clock import Clock
    from callcontrol.configset import ConfigSet
    from callcontrol.state.layer import StateLayer

COMMANDS = ("journal", "tickets", "stats", "report")
StateOpener = Callable[["ConfigSet"], AbstractAsyncContextManager[tuple["StateLayer", "Clock"]]]


def add_commands(sub: Any) -> None:
    journal = sub.add_parser("journal", help="the call journal: export it as CSV or JSON lines")
    journal.add_argument("action", choices=["export"])
    journal.add_argument("--from", dest="start", help="first day (YYYY-MM-DD) or time (ISO); default: today")
    journal.add_argument("--to", dest="end", help="last day (included) or time; default: the --from day")
    journal.add_argument("--format", choices=["csv", "jsonl"], default="csv")
    journal.add_argument("--output", type=Path, help="file to write (default: standard output)")
    tickets = sub.add_parser("tickets", help="follow-up tickets (voicemails, late or failed callbacks)")
    tickets.add_argument("action", choices=["list", "assign", "done", "audio"])
    tickets.add_argument("ticket_id", nargs="?")
    tickets.add_argument("agent_id", nargs="?", help="assign: the agent; done: who handled it")
    tickets.add_argument("--status", choices=["new", "assigned", "done", "open"], default="open",
                         help="list: which tickets (default open = new and assigned)")
    tickets.add_argument("--hotline")
    tickets.add_argument("--note", default="", help="done: what was done")
    tickets.add_argument("--output", type=Path, help="audio: the WAV file to write")
    stat = sub.add_parser("stats", help="service figures of a day, per hotline")
    stat.add_argument("--day", help="YYYY-MM-DD (default: today)")
    stat.add_argument("--hotline", help="one hotline, hour by hour")
    rep = sub.add_parser("report", help="the day's one-page printable HTML report")
    rep.add_argument("--day", help="YYYY-MM-DD (default: today)")
    rep.add_argument("--output", type=Path, help="file to write (default: report-DAY.html)")


async def run(config: ConfigSet, args: argparse.Namespace, opener: StateOpener) -> int:
    async with opener(config) as (state, clock):
        match args.command:
            case "journal":
                return await _export(config, state, clock, args)
            case "tickets":
                return await _tickets(config, state, clock, args)
            case "stats":
                return await _stats(config, state, clock, args)
            case _:
                return await _report(config, state, clock, args)


def _day(clock: Clock, text: str | None) -> str:
    return date.fromisoformat(text).isoformat() if text else clock.now().date().isoformat()


def _moment(clock: Clock, text: str, end: bool) -> float:
    if len(text) == 10:  # a day: from its start, or to its end
        day = datetime.combine(date.fromisoformat(text), datetime.min.time(), clock.zone)
        return (day + timedelta(days=1)).timestamp() - 0.001 if end else day.timestamp()
    moment = datetime.fromisoformat(text)
    return (moment if moment.tzinfo else moment.replace(tzinfo=clock.zone)).timestamp()


async def _export(config: ConfigSet, state: StateLayer, clock: Clock, args: argparse.Namespace) -> int:
    start_text = args.start or clock.now().date().isoformat()
    start, end = _moment(clock, start_text, False), _moment(clock, args.end or start_text, True)
    entries = await state.journal.between(start, end)
    from callcontrol.followup import export

    lines = export.jsonl(entries) if args.format == "jsonl" else export.csv_lines(entries, clock.zone)
    if args.output:
        with args.output.open("w", encoding="utf-8", newline="") as out:
            out.writelines(lines)
        print(f"{len(entries)} calls written to {args.output}", file=sys.stderr)
    else:
        sys.stdout.writelines(lines)
    return 0


def _when(clock: Clock, at: float | None) -> str:
    return datetime.fromtimestamp(at, clock.zone).strftime("%Y-%m-%d %H:%M") if at else "-"


async def _tickets(config: ConfigSet, state: StateLayer, clock: Clock, args: argparse.Namespace) -> int:
    from callcontrol.state.tickets import TicketClosed, TicketNotFound

    tickets = state.tickets
    try:
        if args.action == "list":
            status = None if args.status == "open" else args.status
            found = [t for t in await tickets.list(status=status, hotline=args.hotline)
                     if args.status != "open" or t.status.value != "done"]
            for t in found:
                who = t.done_by or t.assigned_to or ""
                what = f"message {t.duration:.0f} s" if t.duration else t.note
                print(f"{t.id}\t{t.status.value}\t{_when(clock, t.created_at)}\t{t.kind}\t{t.hotline}\t"
                      f"{t.caller_masked}\t{what}\t{who}")
            if not found:
                print("no ticket")
            return 0
        if not args.ticket_id or (args.action in ("assign", "done") and not args.agent_id):
            print(f"callcontrol: tickets {args.action} needs a ticket id"
                  + (" and an agent id" if args.action != "audio" else ""), file=sys.stderr)
            return 2
        if args.action == "assign":
            t = await tickets.assign(args.ticket_id, args.agent_id)
            print(f"{t.id}: assigned to {t.assigned_to}")
        elif args.action == "done":
            t = await tickets.done(args.ticket_id, args.agent_id, args.note)
            print(f"{t.id}: done by {t.done_by}")
        else:
            return await _audio(config, state, args)
    except (TicketNotFound, TicketClosed) as exc:
        print(f"callcontrol: {exc}", file=sys.stderr)
        return 1
    return 0


async def _audio(config: ConfigSet, state: StateLayer, args: argparse.Namespace) -> int:
    """Write a voicemail's WAV, fetched from Asterisk's stored recordings (the API serves the same use case)."""
    import aiohttp

    from callcontrol.ari.client import AriClient
    from callcontrol.ari.connection import AriConnection
    from callcontrol.ari.errors import AriError
    from callcontrol.followup.voicemail import NoRecording, VoicemailAudio

    ari = config.settings.ari
    async with aiohttp.ClientSession() as http:
        client = AriClient(http, AriConnection.of(ari))
        try:
            audio = await VoicemailAudio(state.tickets, client).audio(args.ticket_id)
        except (NoRecording, AriError) as exc:
            print(f"callcontrol: {exc}", file=sys.stderr)
            return 1
    target = args.output or Path(f"{args.ticket_id}.wav")
    target.write_bytes(audio)
    print(f"{args.ticket_id}: {len(audio)} bytes written to {target}")
    return 0


async def _stats(config: ConfigSet, state: StateLayer, clock: Clock, args: argparse.Namespace) -> int:
    from callcontrol.followup import daily, stats

    day, levels = _day(clock, args.day), config.settings.followup.service_levels
    if args.hotline:
        rows = {f"{h:02d} h": f for h, f in (await daily.hourly(state.figures, day, args.hotline, levels)).items()}
    else:
        rows = await daily.hotline_figures(state.figures, day, levels)
    level_heads = "".join(f"\t<={lv}s" for lv in levels)
    print(f"{day}\toffered\tanswered{level_heads}\tabandoned\tpickup\tavg_wait\tmax_wait\tavg_talk\tvoicemail"
          f"\tcallbacks_on_time\trepeat")
    for name, f in rows.items():
        within = "".join(f"\t{f.answered_within[lv]}" for lv in levels)
        print(f"{name}\t{f.offered}\t{f.answered}{within}\t{f.abandoned}\t{stats.percent(f.pickup_rate)}\t"
              f"{stats.seconds(f.avg_wait)}\t{stats.seconds(f.max_wait)}\t{stats.seconds(f.avg_handling)}\t"
              f"{f.voicemail}\t{f.callbacks_on_time}/{f.callbacks_done}\t{f.repeat_callers}")
    if not rows:
        print("no call")
    return 0


async def _report(config: ConfigSet, state: StateLayer, clock: Clock, args: argparse.Namespace) -> int:
    from callcontrol.followup import daily, report

    day = _day(clock, args.day)
    levels = config.settings.followup.service_levels
    page = report.render(await daily.day_report(state.figures, config.settings.city.name, day, levels))
    target = args.output or Path(f"report-{day}.html")
    target.write_text(page, encoding="utf-8")
    print(f"report of {day} written to {target}")
    return 0


