"""What each verb does to a call: one small async function per verb.

Each returns where the call goes next: None (the next step), a target (step id or flow:ID), END (the flow is done;
the runner hangs up) or STOP (the call is already hung up).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from callcontrol.calls.errors import CallEnded
from callcontrol.calls.port import CallPort, RecordingResult
from callcontrol.flows.loader import Flows
from callcontrol.flows.ports import Enqueuer, ManualClosure, ManualClosures
from callcontrol.flows.schedules import ScheduleState, WeeklySchedule
from callcontrol.flows.schema import (
    DTMF,
    MEDIA_PREFIXES,
    Enqueue,
    Gather,
    Goto,
    Hangup,
    Language,
    Pause,
    Play,
    Record,
    Say,
    Schedule,
    Transfer,
    Verb,
    WhenCaller,
)

END = "@end"
STOP = "@stop"
Outcome = str | None
Evaluate = Callable[[WeeklySchedule, dt.datetime, ManualClosure | None], ScheduleState]


@dataclass
class Context:
    """One call's run: the call, what the runner was given, and what the flow has gathered so far."""

    call: CallPort
    flows: Flows
    enqueuer: Enqueuer
    manual_closures: ManualClosures
    evaluate: Evaluate
    allowed_numbers: frozenset[str]
    log: Any
    pending: list[str] = field(default_factory=list)  # keys pressed during an interruptible prompt
    recordings: list[RecordingResult] = field(default_factory=list)


def media(sounds: Sequence[str]) -> list[str]:
    """ARI media URIs: a bare sound name becomes sound:NAME."""
    return [s if s.startswith(MEDIA_PREFIXES) else f"sound:{s}" for s in sounds]


async def play(ctx: Context, verb: Play, label: str) -> Outcome:
    call = ctx.call
    previous = call.language
    if verb.language:
        call.language = verb.language
    try:
        digit = await call.play(media(verb.sounds), interrupt=verb.interruptible)
    finally:
        call.language = previous
    if digit is not None:
        ctx.pending.append(digit)
    return None


async def say(ctx: Context, verb: Say, label: str) -> Outcome:
    await ctx.call.play(verb.media())
    return None


async def gather(ctx: Context, verb: Gather, label: str) -> Outcome:
    call = ctx.call
    call.note(f"gather:{label}")
    last = "no_input"
    for attempt in range(1, verb.retries + 2):
        entered = await _collect(ctx, verb)
        if entered is None:
            last = "no_input"
            call.note("no_input", attempt=attempt)
            continue
        if entered in verb.on:
            call.note(f"digit:{entered}")
            return verb.on[entered]
        last = "invalid"
        call.note(f"invalid:{entered}", attempt=attempt)
        if verb.invalid_sound and attempt <= verb.retries:
            await call.play(media(verb.invalid_sound))
    call.note(f"gather_failed:{last}")
    return verb.invalid if last == "invalid" and verb.invalid else verb.no_input


async def _collect(ctx: Context, verb: Gather) -> str | None:
    """Play the menu (cut short by any key) and read the caller's choice; None when nothing came."""
    call = ctx.call
    first = ctx.pending.pop(0) if ctx.pending else await call.play(media(verb.prompt), interrupt=DTMF)
    if first is None:
        first = await call.read_digit(verb.timeout)
    if first is None or first == verb.terminator:
        return None
    digits = first
    while len(digits) < verb.max_digits and not _complete(digits, verb.on):
        digit = await call.read_digit(verb.timeout)
        if digit is None or digit == verb.terminator:
            break
        digits += digit
    return digits


def _complete(digits: str, keys: dict[str, str]) -> bool:
    """The caller typed a menu key that no longer key starts with: no need to wait for more."""
    return digits in keys and not any(k != digits and k.startswith(digits) for k in keys)


async def goto(ctx: Context, verb: Goto, label: str) -> Outcome:
    return verb.target


async def schedule(ctx: Context, verb: Schedule, label: str) -> Outcome:
    call = ctx.call
    hours = ctx.flows.schedules[verb.name]
    manual = None
    try:
        manual = await ctx.manual_closures.get_closed(hours.manual_scope)
    except Exception:  # Redis down: the hours still decide; a hiccup must not cut citizens off
        ctx.log.warning("manual_closures_unavailable", schedule=verb.name, exc_info=True)
    state = ctx.evaluate(hours, call.now(), manual)
    call.note(f"schedule:{state.kind}", schedule=verb.name, reason=state.reason)
    if state.message_sound:
        await call.play(media([state.message_sound]))
    return verb.target_for(state.kind)


async def when_caller(ctx: Context, verb: WhenCaller, label: str) -> Outcome:
    call = ctx.call
    if call.caller is None:
        call.note("caller:withheld")
        return verb.withheld or verb.else_
    for key, target in verb.known.items():
        numbers = ctx.flows.caller_lists.get(key, frozenset({key}))
        if call.caller in numbers:
            call.note("caller:known", list=key)
            return target
    call.note("caller:other")
    return verb.else_


async def language(ctx: Context, verb: Language, label: str) -> Outcome:
    ctx.call.language = verb.code
    ctx.call.note(f"language:{verb.code}")
    return None


async def record(ctx: Context, verb: Record, label: str) -> Outcome:
    result = await ctx.call.record(max_seconds=verb.max_seconds, beep=verb.beep, silence_seconds=verb.silence_seconds)
    ctx.recordings.append(result)
    ctx.call.note("record", name=result.name, duration=result.duration, ended_by=result.ended_by)
    return None


async def transfer(ctx: Context, verb: Transfer, label: str) -> Outcome:
    call = ctx.call
    if verb.number not in ctx.allowed_numbers:  # checked at load too; this guards a runner wired by hand
        ctx.log.error("transfer_refused", step=label, reason="number not in allow-list")
        call.note("transfer:refused")
        return verb.no_answer
    answered = await call.transfer(verb.number, timeout=verb.timeout)
    call.note("transfer:answered" if answered else "transfer:no_answer", label=label)
    return END if answered else verb.no_answer


async def enqueue(ctx: Context, verb: Enqueue, label: str) -> Outcome:
    call = ctx.call
    call.note(f"enqueue:{verb.hotline}")
    try:
        outcome = await ctx.enqueuer.enqueue(call, verb.hotline)
    except CallEnded:
        raise
    except Exception:  # Redis down, a routing bug: the flow's "unavailable" branch, never a dropped citizen
        ctx.log.error("enqueue_failed", hotline=verb.hotline, exc_info=True)
        outcome = "unavailable"
    if not (call.path and call.path[-1].step == f"queue:{outcome}"):  # the router may have noted it, with details
        call.note(f"queue:{outcome}", hotline=verb.hotline)
    if outcome in verb.on:
        return verb.on[outcome]
    return END if outcome == "answered" else None


async def pause(ctx: Context, verb: Pause, label: str) -> Outcome:
    # Waiting for a key (rather than sleeping) keeps the port's clock in charge and the key for the next menu.
    digit = await ctx.call.read_digit(verb.seconds)
    if digit is not None:
        ctx.pending.append(digit)
    return None


async def hangup(ctx: Context, verb: Hangup, label: str) -> Outcome:
    ctx.call.note("hangup", reason=verb.reason)
    await ctx.call.hangup(verb.reason)
    return STOP


RUNNERS: dict[str, Callable[[Context, Any, str], Awaitable[Outcome]]] = {
    "play": play,
    "say": say,
    "gather": gather,
    "goto": goto,
    "schedule": schedule,
    "when_caller": when_caller,
    "language": language,
    "record": record,
    "transfer": transfer,
    "enqueue": enqueue,
    "pause": pause,
    "hangup": hangup,
}


async def run_verb(ctx: Context, step_verb: str, verb: Verb, label: str) -> Outcome:
    return await RUNNERS[step_verb](ctx, verb, label)
