"""Composition root: builds every object once, runs the long-lived loops in one TaskGroup."""

from __future__ import annotations

import asyncio
import contextlib
import gc
import os
import signal
from collections.abc import Callable

import aiohttp
import structlog
from prometheus_client import CollectorRegistry

from callcontrol.agents.presence import Presence
from callcontrol.agents.rota_keeper import RotaKeeper
from callcontrol.ami import AmiClient
from callcontrol.ari.client import AriClient
from callcontrol.ari.connection import AriConnection
from callcontrol.ari.event_filter import EventFilter
from callcontrol.ari.events import EventStream
from callcontrol.ari.ws_lanes import RestLanes
from callcontrol.ari.ws_rest import WsRest
from callcontrol.calls.dispatcher import CallDispatcher, DispatcherSettings
from callcontrol.calls.legs import PublicIdentity
from callcontrol.configset import ConfigSet
from callcontrol.flows.hours import ScheduleHours
from callcontrol.flows.runner import FlowRunner
from callcontrol.followup.recorder import FollowUp
from callcontrol.followup.retention import keep_retention
from callcontrol.metrics import Metrics
from callcontrol.routing.agent_calls import INTERNAL
from callcontrol.routing.callback import CALLBACK_KIND, CallbackDesk
from callcontrol.routing.callback_offer import CallbackOffers
from callcontrol.routing.callback_slots import Appointments
from callcontrol.routing.callback_upkeep import CallbackEnds, CallbackUpkeep
from callcontrol.routing.dialer import Dialer
from callcontrol.routing.distributor import Distributor
from callcontrol.routing.duty_mirror import DutyMirror
from callcontrol.routing.endpoints import ENDPOINTS_APP_SUFFIX, AriReachability, EndpointWatcher
from callcontrol.routing.router import HotlineRouter
from callcontrol.routing.takeover import Takeover
from callcontrol.selfservice.agents_line import AGENTS_LINE
from callcontrol.selfservice.feature_codes import FEATURE
from callcontrol.state.connect import connect_redis, follow_master
from callcontrol.state.health import RedisHealth
from callcontrol.state.layer import StateLayer
from callcontrol.supervision.server import build_web_app, serve
from callcontrol.supervision.wallboard import wallboard_routes
from callcontrol.upkeep import heartbeat, keep_state
from callcontrol.wiring import (
    ClosuresAdapter,
    agent_calls,
    dial_out_policy,
    flow_handler,
    journal_hook,
    make_clock,
    self_service,
    supervision,
    unserved_handler,
    wallboard,
)

ARI_CONNECTIONS = 32  # REST requests in flight at once, plus the two event websockets
log = structlog.get_logger("callcontrol.app")


def freeze_startup_heap() -> int:
    """Collect once, then move everything alive (modules, the configuration, the calendars: ~80,000 objects) out
    of the garbage collector's sight: it never becomes garbage, and each full collection walked it with the event
    loop stopped (33 to 190 ms measured on a 2-core box: an ARI websocket stall). Returns the objects frozen."""
    gc.collect()
    gc.freeze()
    return gc.get_freeze_count()


def loop_factory() -> Callable[[], asyncio.AbstractEventLoop] | None:
    """uvloop's event loop when it is installed (a dependency; CALLCONTROL_UVLOOP=0 turns it off), else asyncio's:
    libuv's loop and transports cost less CPU per ARI request, Redis command and event than asyncio's."""
    if os.environ.get("CALLCONTROL_UVLOOP", "1") == "0":
        return None
    try:
        import uvloop
    except ImportError:
        return None
    return uvloop.new_event_loop


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
    # Connections to Asterisk's HTTP server, both websockets included, bounded and waited for: Asterisk refuses
    # sessions past its sessionlimit (100 by default), and an overloaded app would open one per request in flight.
    ws_rest = WsRest() if settings.ari.rest_transport == "websocket" else None  # REST over the events socket
    extra = settings.ari.rest_websockets if ws_rest else 0  # ... and over request-only ones
    async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=ARI_CONNECTIONS + extra)) as http:
        ari_conn = AriConnection.of(settings.ari)  # Asterisk's URL, credentials, our application name, timeouts
        lanes = RestLanes(http, ari_conn, ws_rest, extra) if ws_rest and extra else None
        ari = AriClient(http, ari_conn, on_request=metrics.ari_request, ws_rest=ws_rest)
        events = EventStream(http, ari_conn, on_lag=metrics.ari_event_lag.observe, ws_rest=ws_rest)
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
        endpoints = EndpointWatcher(AriClient(http, ari_conn.for_app(endpoint_app)), state, config.agents)
        endpoint_events = EventStream(http, ari_conn.for_app(endpoint_app))

        on_call = [h.id for h in config.hotlines.values() if h.on_call]
        astdb = AmiClient(settings.ami) if settings.ami else None  # AstDB: the duty survives an Asterisk restart
        duty_mirror = DutyMirror(ari, state, on_call, astdb)  # the dialplan fallback rings whoever is on duty now
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
        deps = supervision(config, state, clock, presence, ari)
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
        connected = EventFilter(ari).before(dispatcher.reconcile)  # only the event types we read, then reconcile
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
                    tg.create_task(events.run(dispatcher.on_event, on_connect=connected)),
                    tg.create_task(endpoint_events.run(endpoints.on_event, on_connect=endpoints.on_connect)),
                    tg.create_task(serve(web_app, settings.http.bind, settings.http.port)),
                    tg.create_task(board.run()),
                    tg.create_task(metrics.sample_loop_stalls()),
                ]
                if lanes is not None:
                    loops.append(tg.create_task(lanes.run()))
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
