"""The parts the composition root (app.py) assembles: each builds one piece of the running application from
the configuration and the pieces it needs. Only app.py imports this module."""

from __future__ import annotations

from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

import structlog
from redis.exceptions import RedisError

from callcontrol import numbers
from callcontrol.agents.presence import Presence
from callcontrol.ari.client import AriClient
from callcontrol.calls.dispatcher import CallEndHook, CallHandler
from callcontrol.calls.legs import PublicIdentity
from callcontrol.calls.outcome import FinishedCall, journal_entry
from callcontrol.calls.session import CallSession
from callcontrol.clock import Clock
from callcontrol.configset import ConfigSet
from callcontrol.flows.runner import FlowRunner
from callcontrol.followup.reading import FigureReading
from callcontrol.followup.recorder import FollowUp
from callcontrol.followup.voicemail import VoicemailAudio
from callcontrol.metrics import Metrics
from callcontrol.routing.agent_calls import AgentCalls, softphone_of
from callcontrol.routing.dial_out import DialOutPolicy
from callcontrol.routing.router import HotlineRouter
from callcontrol.routing.switchboard import Switchboard
from callcontrol.selfservice.agents_line import AgentsLine
from callcontrol.selfservice.directory import AgentDirectory, HotlineCodes
from callcontrol.selfservice.feature_codes import FeatureCodes
from callcontrol.state.health import RedisHealth, describe
from callcontrol.state.layer import StateLayer
from callcontrol.state.membership import Membership
from callcontrol.state.pin_lock import PinLock
from callcontrol.supervision.auth import FailureLimiter, Tokens
from callcontrol.supervision.board import AgentInfo, BoardReader, HotlineInfo
from callcontrol.supervision.deps import SupervisionDeps
from callcontrol.supervision.figures import board_today
from callcontrol.supervision.hub import BoardHub

log = structlog.get_logger("callcontrol.app")

def supervision(
    config: ConfigSet, state: StateLayer, clock: Clock, presence: Presence, ari: AriClient | None = None
) -> SupervisionDeps:
    """The HTTP side's dependencies: the switchboard use cases (shared with the CLI), presence, auth, the day's
    figures (followup's counters) and the voicemails' audio (from Asterisk's stored recordings, over `ari`)."""
    http = config.settings.http
    switchboard = Switchboard(state, config.hotlines, clock, names={a.id: a.name for a in config.agents},
                              switchboard_phone=http.switchboard_phone)
    return SupervisionDeps(
        switchboard=switchboard,
        presence=presence,
        state=state,
        clock=clock,
        tokens=Tokens.parse(http.tokens),
        limiter=FailureLimiter(clock.monotonic),
        figures=FigureReading(state.figures, clock, config.settings.followup.service_levels),
        voicemail=None if ari is None else VoicemailAudio(state.tickets, ari),
    )


def make_clock(config: ConfigSet, clock_override: str | None) -> Clock:
    zone = ZoneInfo(config.settings.city.timezone)
    start_at = datetime.fromisoformat(clock_override) if clock_override else None
    return Clock(zone=zone, start_at=start_at)


class ClosuresAdapter:
    """The flows' ManualClosures port over state/closures.py (a city-wide "all" switch counts too). Redis away is
    a builtin ConnectionError (the flows speak no Redis), raised at once while Redis counts as down."""

    def __init__(self, state: StateLayer, health: RedisHealth):
        self._state = state
        self._health = health

    async def get_closed(self, scope: str) -> Any:
        if self._health.down:
            raise ConnectionError("Redis unreachable (failed moments ago)")
        try:
            async with self._health.guard():
                return await self._state.closures.closed_for(scope)
        except RedisError as exc:
            raise ConnectionError(f"Redis unreachable: {describe(exc)}") from None


def flow_handler(runner: FlowRunner, router: HotlineRouter) -> CallHandler:
    async def handle(call: CallSession) -> None:
        if call.resumed and await router.resume(call):  # adopted after a restart: carried on where it was
            return
        await call.answer()
        await runner.run(call, entry=call.kind)

    return handle


def unserved_handler(sound: str = "callcontrol/service-unavailable") -> CallHandler:
    """A call of a kind no flow serves (a number or feature nobody configured): a short prompt and a clean hangup,
    never a bare decline; the dispatcher logs `call_unexpected` with the kind."""

    async def handle(call: CallSession) -> None:
        call.note("unserved", kind=call.kind)
        await call.answer()
        await call.play([sound])
        await call.hangup("normal")

    return handle


def dial_out_policy(config: ConfigSet) -> DialOutPolicy:
    """The one allow-list of outside numbers: the agents' own calls and the citizens' callback numbers."""
    settings = config.settings
    return DialOutPolicy.build(
        settings.city.country,
        settings.dial_out.allow,
        international=settings.dial_out.international,
        numbers=(*settings.dial_out.numbers, *settings.city.transfer_allow),
        short_numbers=settings.dial_out.short_numbers,
    )


def agent_calls(config: ConfigSet, ari: AriClient, state: StateLayer, identity: PublicIdentity) -> AgentCalls:
    """The agents' own calls from their softphones: colleagues, and citizens within the dial-out allow-list."""
    ring_timeout = config.settings.dial_out.ring_timeout
    policy = dial_out_policy(config)
    return AgentCalls(ari=ari, state=state, identity=identity, policy=policy, ring_timeout=ring_timeout)


def self_service(config: ConfigSet, state: StateLayer, presence: Presence) -> tuple[CallHandler, CallHandler]:
    """The agents' feature codes (kind `feature`) and the agents' line (kind `agents-line`): docs/agents-guide.md."""
    settings = config.settings
    own = settings.self_service
    directory = AgentDirectory(config.agents, settings.city.language)
    hotlines = config.hotlines.values()
    on_call = frozenset(h.id for h in hotlines if h.on_call)  # hotlines.yaml on_call: true
    codes = HotlineCodes({h.code: h.id for h in hotlines if h.code}, on_call=on_call)
    membership = Membership(state.store, on_call)
    features = FeatureCodes(presence=presence, membership=membership, directory=directory, codes=codes, settings=own)
    line = AgentsLine(
        presence=presence,
        agents=state.agents,
        directory=directory,
        codes=codes,
        lock=PinLock(state.store, limit=own.pin_tries, seconds=own.lockout_minutes * 60),
        settings=own,
        number_salt=settings.logging.number_salt,
    )

    async def feature(call: CallSession) -> None:  # the agent is the calling softphone (its PJSIP endpoint)
        await features.handle(call, softphone_of(call.channel.name))

    return feature, line.handle


def journal_hook(
    state: StateLayer,
    salt: str,
    region: str,
    clock: Clock,
    followup: FollowUp | None = None,
    min_message: float = 1.5,
    metrics: Metrics | None = None,
) -> CallEndHook:
    """Each finished call's journal line (calls/outcome.py decides what it holds), handed to the follow-up
    (journal, figures, voicemail ticket; followup/recorder.py). An adopted call keeps the start its first instance
    gave it (routing/resume.py restores it): its duration covers the whole call."""

    async def on_call_end(call: CallSession, duration: float) -> None:
        assert call.outcome is not None  # decided by the dispatcher before the hook runs
        if call.resumed:
            duration = max(duration, clock.time() - call.started_at)
        finished = FinishedCall(
            call_id=call.call_id,
            kind=call.kind,
            caller_raw=call.caller_raw,
            dialled=call.dialled,
            started_at=call.started_at,
            duration=duration,
            outcome=call.outcome,
            path=call.path,
            facts=call.facts,
        )
        try:
            entry = journal_entry(finished, salt=salt, region=region, min_message=min_message)
            if followup is None:
                await state.journal.append(entry)
            else:  # the full number reaches only a voicemail's ticket (for calling back), never the journal
                await followup.call_ended(entry, number=numbers.normalise(call.caller_raw, region))
        except Exception as exc:  # Redis away: the call is over anyway; the log line keeps the facts
            log.warning("journal_write_failed", error=str(exc) or type(exc).__name__)
        if metrics is not None:
            metrics.call_ended(call.outcome.value, call.facts.hotline, call.facts.wait)

    return on_call_end


def wallboard(config: ConfigSet, state: StateLayer, deps: SupervisionDeps, metrics: Metrics) -> BoardHub:
    """The wallboard's and the metrics' view of the hotlines (supervision/board.py), fed by the events channel."""
    hotlines = [HotlineInfo(h.id, h.display_name, on_call=h.on_call)
                for h in config.hotlines.values()]
    agents = [AgentInfo(a.id, a.name, tuple(a.hotlines)) for a in config.agents]
    today = board_today(deps.figure_reading(), [h.id for h in hotlines])  # the API's figures, the same numbers
    reader = BoardReader(state, hotlines, agents, clock=deps.clock.time, today=today)
    return BoardHub(reader, state.events, metrics)
