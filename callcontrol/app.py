"""Composition root: builds every object once, runs the long-lived loops in one TaskGroup."""

from __future__ import annotations

import asyncio
import contextlib
import signal
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

import aiohttp
import structlog
from prometheus_client import CollectorRegistry
from redis.exceptions import RedisError

from callcontrol import numbers
from callcontrol.agents.presence import Presence
from callcontrol.agents.rota_keeper import RotaKeeper
from callcontrol.ari.client import AriClient
from callcontrol.ari.events import EventStream
from callcontrol.calls.dispatcher import CallDispatcher, CallEndHook, CallHandler, DispatcherSettings
from callcontrol.calls.legs import PublicIdentity
from callcontrol.calls.outcome import FinishedCall, journal_entry
from callcontrol.calls.session import CallSession
from callcontrol.clock import Clock
from callcontrol.configset import ConfigSet
from callcontrol.flows.hours import ScheduleHours
from callcontrol.flows.runner import FlowRunner
from callcontrol.followup.recorder import FollowUp
from callcontrol.followup.retention import keep_retention
from callcontrol.metrics import Metrics
from callcontrol.routing.agent_calls import INTERNAL, AgentCalls, softphone_of
from callcontrol.routing.callback import CALLBACK_KIND, CallbackDesk
from callcontrol.routing.callback_offer import CallbackOffers
from callcontrol.routing.callback_slots import Appointments
from callcontrol.routing.callback_upkeep import CallbackEnds, CallbackUpkeep
from callcontrol.routing.dial_out import DialOutPolicy
from callcontrol.routing.dialer import Dialer
from callcontrol.routing.distributor import Distributor
from callcontrol.routing.duty_mirror import DutyMirror
from callcontrol.routing.endpoints import ENDPOINTS_APP_SUFFIX, AriReachability, EndpointWatcher
from callcontrol.routing.router import HotlineRouter
from callcontrol.routing.switchboard import Switchboard
from callcontrol.routing.takeover import Takeover
from callcontrol.selfservice.agents_line import AGENTS_LINE, AgentsLine
from callcontrol.selfservice.directory import AgentDirectory, HotlineCodes
from callcontrol.selfservice.feature_codes import FEATURE, FeatureCodes
from callcontrol.state.connect import connect_redis, follow_master
from callcontrol.state.health import RedisHealth, describe
from callcontrol.state.layer import StateLayer
from callcontrol.state.membership import Membership
from callcontrol.state.pin_lock import PinLock
from callcontrol.supervision.auth import FailureLimiter, Tokens
from callcontrol.supervision.board import AgentInfo, BoardReader, HotlineInfo
from callcontrol.supervision.deps import SupervisionDeps
from callcontrol.supervision.hub import BoardHub
from callcontrol.supervision.server import build_web_app, serve
from callcontrol.supervision.wallboard import wallboard_routes
from callcontrol.upkeep import heartbeat, keep_state

log = structlog.get_logger("callcontrol.app")

def supervision(config: ConfigSet, state: StateLayer, clock: Clock, presence: Presence) -> SupervisionDeps:
    """The HTTP side's dependencies: the switchboard use cases (shared with the CLI), presence, auth."""
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
    # on_call: issue 9's `on_call: true` in hotlines.yaml (h-duty); until that lands, no hotline is on call
    hotlines = [HotlineInfo(h.id, h.display_name, on_call=h.on_call)
                for h in config.hotlines.values()]
    agents = [AgentInfo(a.id, a.name, tuple(a.hotlines)) for a in config.agents]
    reader = BoardReader(state, hotlines, agents, clock=deps.clock.time, today=deps.switchboard.figures)
    return BoardHub(reader, state.events, metrics)


async def run(config: ConfigSet, *, clock_override: str | None = None, stop: asyncio.Event | None = None) -> None:
    """Run until SIGTERM/SIGINT (or `stop` is set). Calls in progress stay up in Asterisk across a restart."""
    settings = config.settings
    stop = stop or asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        with contextlib.suppress(NotImplementedError, RuntimeError):
            loop.add_signal_handler(sig, stop.set)
    clock = make_clock(config, clock_override)
    instance_id = settings.instance.id
    redis = connect_redis(settings.redis, health_check_interval=10)
    state = StateLayer.create(redis, clock=clock.time)
    metrics = Metrics(CollectorRegistry())  # this process' figures, at /metrics
    async with aiohttp.ClientSession(trace_configs=[metrics.ari_trace()]) as http:
        ari = AriClient(http, settings.ari.url, settings.ari.user, settings.ari.password, settings.ari.app)
        events = EventStream(http, settings.ari.url, settings.ari.user, settings.ari.password, settings.ari.app)
        identity = PublicIdentity(number=settings.city.public_number, name=settings.city.public_name)
        followup = FollowUp(state, settings.followup, clock.zone, clock.time)
        # one view of Redis for routing, the "closed now" switch and the state loops
        health = RedisHealth(on_failure=metrics.redis_failed)
        closures = ClosuresAdapter(state, health)
        distributor = Distributor(state, config.hotlines, instance_id)
        dispatcher = CallDispatcher(
            ari,
            {},
            clock,
            DispatcherSettings(
                region=settings.city.country,
                language=settings.city.language,
                number_salt=settings.logging.number_salt,
                identity=identity,
            ),
            on_call_end=journal_hook(
                state, settings.logging.number_salt, settings.city.country, clock, followup,
                settings.followup.voicemail_min_seconds, metrics,
            ),
            unserved=unserved_handler(),
        )
        hours = ScheduleHours(config.flows.schedules, closures, clock.now)
        appointments = Appointments(state=state, clock=clock, days=hours)  # rendez-vous téléphonique
        callback_offers = CallbackOffers(
            state=state, policy=dial_out_policy(config), clock=clock, day_end=hours, appointments=appointments
        )
        dialer = Dialer(ari, identity)
        router = HotlineRouter(
            ari=ari,
            state=state,
            distributor=distributor,
            dialer=dialer,
            hotlines=config.hotlines,
            instance_id=instance_id,
            clock=clock,
            hours=hours,
            health=health,
            degraded_context=settings.degraded.context,
            reach=AriReachability(ari),
            callbacks=callback_offers,
        )
        # Kept callbacks (routing/callback.py): claimed by any instance, the agent first, then the citizen.
        # state/tickets.py and followup/recorder.py (issue 11's follow-up) once merged: tickets, and recorder=FollowUp
        ends = CallbackEnds(state.tickets, followup, clock=clock.time)  # tickets when late / failed, figures
        callback_hotlines = [h for h, routing in config.hotlines.items() if routing.callback is not None]
        callbacks = CallbackDesk(
            ari=ari, state=state, dialer=dialer, identity=identity, hotlines=config.hotlines,
            release=router.conversations.release, ends=ends,
        )  # fmt: skip
        distributor.serve_callbacks(callbacks.start, callback_hotlines)
        callback_upkeep = CallbackUpkeep(
            state=state, ends=ends, hotlines=callback_hotlines, offer_now=distributor.offer_now
        )
        # The softphones' registrations are followed on an application of their own: subscribed to the PJSIP
        # endpoints, an application also gets every event of their channels, which would reach each call twice.
        endpoint_app = f"{settings.ari.app}{ENDPOINTS_APP_SUFFIX}"
        endpoints = EndpointWatcher(
            AriClient(http, settings.ari.url, settings.ari.user, settings.ari.password, endpoint_app),
            state,
            config.agents,
        )
        endpoint_events = EventStream(http, settings.ari.url, settings.ari.user, settings.ari.password, endpoint_app)

        on_call = [h.id for h in config.hotlines.values() if h.on_call]
        duty_mirror = DutyMirror(ari, state, on_call)  # the dialplan fallback rings whoever is on duty now
        rota = RotaKeeper(state, config.rota, clock)  # membership of the on-call hotlines follows the rota

        heartbeat_ttl = settings.instance.heartbeat_ttl
        takeover = Takeover(
            ari=ari,
            state=state,
            instance_id=instance_id,
            expect_adopted=dispatcher.expect_adopted,
            forget_adopted=dispatcher.forget_adopted,
            on_taken_over=metrics.taken_over,
        )
        presence = Presence(state, clock.time, reachability=AriReachability(ari))  # one door: API, codes, line
        deps = supervision(config, state, clock, presence)
        board = wallboard(config, state, deps, metrics)
        web_app = build_web_app(deps, extra=[wallboard_routes(board, metrics)])
        metrics.watch(active_calls=lambda: len(dispatcher.active_calls), ari_connected=events.connected.is_set,
                      ari_connections=lambda: events.connections)
        runner = FlowRunner(config.flows, enqueuer=router, manual_closures=closures)
        dispatcher.set_handler(INTERNAL, agent_calls(config, ari, state, identity).handle)  # a flow may override
        dispatcher.set_handler(CALLBACK_KIND, callbacks.serve)
        features, agents_line = self_service(config, state, presence)
        dispatcher.set_handler(FEATURE, features)
        dispatcher.set_handler(AGENTS_LINE, agents_line)
        for entry in config.flows.entries:
            dispatcher.set_handler(entry, flow_handler(runner, router))
        log.info(
            "callcontrol_starting",
            app=settings.ari.app,
            ari=settings.ari.url,
            instance=instance_id,
            public_number=settings.city.public_number,
            entries=sorted(config.flows.entries),
            hotlines=sorted(config.hotlines),
        )
        try:
            async with asyncio.TaskGroup() as tg:
                dispatcher.attach(tg)
                router.attach(tg)
                loops = [
                    tg.create_task(keep_state(state, config, clock, instance_id, health, endpoints.on_connect)),
                    tg.create_task(heartbeat(state, instance_id, settings.ari.app, heartbeat_ttl, health)),
                    tg.create_task(takeover.run()),
                    tg.create_task(follow_master(redis)),
                    tg.create_task(keep_retention(state, settings.followup, clock.time, recordings=ari)),
                    tg.create_task(distributor.run()),
                    tg.create_task(distributor.sweep_forever()),
                    tg.create_task(callback_upkeep.run()),
                    tg.create_task(duty_mirror.run()),
                    tg.create_task(rota.run()),
                    tg.create_task(events.run(dispatcher.on_event, on_connect=dispatcher.reconcile)),
                    tg.create_task(endpoint_events.run(endpoints.on_event, on_connect=endpoints.on_connect)),
                    tg.create_task(serve(web_app, settings.http.bind, settings.http.port)),
                    tg.create_task(board.run()),
                ]
                await stop.wait()
                log.info("callcontrol_stopping", active_calls=len(dispatcher.active_calls))
                for task in loops:
                    task.cancel()
                await dispatcher.shutdown()
                router.shutdown()
                callbacks.shutdown()
        finally:
            with contextlib.suppress(Exception):
                await redis.aclose()
            log.info("callcontrol_stopped")
