"""The metrics object: ARI latency by operation, outcomes and service-level results, takeovers, process gauges."""

from __future__ import annotations

import asyncio
import contextlib

import aiohttp
import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer
from prometheus_client import CollectorRegistry

from callcontrol.metrics import Metrics, ari_operation
from callcontrol.supervision.wallboard import _loopback


def test_ari_operation_labels_hide_ids():
    """Channel ids and numbers in ARI paths become {id}: one series per operation, not per call."""
    assert ari_operation("POST", "http://127.0.0.1:8088/ari/channels/1700000.12-a1b2c3d4/answer") == (
        "POST /channels/{id}/answer"
    )
    assert ari_operation("GET", "http://127.0.0.1:8088/ari/endpoints/PJSIP/1001?x=1") == "GET /endpoints/PJSIP/{id}"


async def test_ari_trace_times_each_request_of_the_session():
    """Every request of the traced session is observed in the ARI latency histogram, by operation."""
    metrics = Metrics(CollectorRegistry())

    async def info(request: web.Request) -> web.Response:
        return web.json_response({"system": {}})

    app = web.Application()
    app.router.add_get("/ari/asterisk/info", info)
    async with TestServer(app, host="127.0.0.1") as server:
        async with aiohttp.ClientSession(trace_configs=[metrics.ari_trace()]) as http:
            async with http.get(server.make_url("/ari/asterisk/info")) as response:
                assert response.status == 200
    text = metrics.render().decode()
    assert 'callcontrol_ari_request_duration_seconds_count{operation="GET /asterisk/info"} 1.0' in text


def test_outcomes_service_level_results_takeovers_and_watched_figures():
    """A call answered after 25 s counts as late; a takeover counts once with its calls; live gauges render."""
    metrics = Metrics(CollectorRegistry())
    metrics.call_ended("answered", "etat-civil", 25.0)
    metrics.call_ended("abandoned", "etat-civil", None)
    metrics.call_ended("completed", None, None)
    metrics.taken_over("b", 3)
    metrics.redis_failed(ConnectionError("gone"))
    metrics.watch(active_calls=lambda: 2, ari_connected=lambda: True, ari_connections=lambda: 3)
    text = metrics.render().decode()
    for line in (
        'callcontrol_hotline_calls_ended_total{hotline="etat-civil",result="answered_late"} 1.0',
        'callcontrol_hotline_calls_ended_total{hotline="etat-civil",result="abandoned"} 1.0',
        'callcontrol_calls_ended_total{outcome="completed"} 1.0',
        "callcontrol_instance_takeovers_total 1.0",
        "callcontrol_takeover_calls_adopted_total 3.0",
        "callcontrol_redis_errors_total 1.0",
        "callcontrol_calls_active 2.0",
        "callcontrol_ari_connected 1.0",
        "callcontrol_ari_reconnects_total 2.0",
    ):
        assert line in text, line


def test_only_loopback_clients_skip_the_token():
    """/metrics without a token: 127.0.0.1 and ::1 only."""
    assert _loopback("127.0.0.1") and _loopback("::1")
    assert not _loopback("192.168.1.20") and not _loopback(None) and not _loopback("garbage")


async def test_a_blocked_event_loop_shows_as_a_stall_and_the_worst_one_is_kept():
    """Work that blocks the loop for 0.2 s appears in the stall histogram and as the worst stall since start."""
    import asyncio
    import time

    metrics = Metrics(CollectorRegistry())
    sampler = asyncio.ensure_future(metrics.sample_loop_stalls(every=0.01))
    await asyncio.sleep(0.05)
    time.sleep(0.2)  # noqa: ASYNC251 (the point: a blocking call in the loop)
    await asyncio.sleep(0.05)
    sampler.cancel()
    text = metrics.render().decode()
    worst = float(next(line.split()[1] for line in text.splitlines()
                       if line.startswith("callcontrol_loop_stall_max_seconds ")))
    assert 0.15 <= worst < 1.0
    assert 'callcontrol_loop_stall_seconds_bucket{le="0.01"}' in text


async def test_each_ari_event_records_how_old_it_was_when_parsed():
    """An event Asterisk stamped 0.3 s before it reached the app is recorded as 0.3 s of event lag."""
    from datetime import UTC, datetime, timedelta

    from callcontrol.ari.connection import AriConnection
    from callcontrol.ari.events import EventStream
    from callcontrol.ari.models import Event

    metrics = Metrics(CollectorRegistry())
    sent = (datetime.now(UTC) - timedelta(seconds=0.3)).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "+0000"
    seen: list[str] = []
    connections: list[web.WebSocketResponse] = []

    async def events(request: web.Request) -> web.WebSocketResponse:
        ws = web.WebSocketResponse()
        await ws.prepare(request)
        connections.append(ws)
        if len(connections) == 1:  # one event in all, on the first connection (the stream reconnects)
            await ws.send_json({"type": "StasisStart", "timestamp": sent, "channel": {"id": "c1"}, "args": []})
        await ws.close()
        return ws

    app = web.Application()
    app.router.add_get("/ari/events", events)
    async with TestServer(app) as server, aiohttp.ClientSession() as session:
        conn = AriConnection(str(server.make_url("")), "u", "p", "app")
        stream = EventStream(session, conn, on_lag=metrics.ari_event_lag.observe)
        got = asyncio.Event()

        async def handler(event: Event) -> None:
            seen.append(event.type)
            got.set()

        task = asyncio.create_task(stream.run(handler))
        async with asyncio.timeout(2):
            await got.wait()
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
    total = metrics.ari_event_lag.collect()[0].samples
    observed = {s.name: s.value for s in total}
    assert seen == ["StasisStart"]
    assert observed["callcontrol_ari_event_lag_seconds_count"] == 1
    assert 0.25 <= observed["callcontrol_ari_event_lag_seconds_sum"] < 2.0


async def test_the_ari_client_times_each_request_by_operation_and_counts_unanswered_ones():
    """Each REST request of the ARI client is observed by operation (ids hidden); one Asterisk never answered is
    counted as an error of that operation."""
    from callcontrol.ari.client import AriClient
    from callcontrol.ari.connection import AriConnection
    from callcontrol.ari.errors import AriUnavailable

    metrics = Metrics(CollectorRegistry())

    async def answer(request: web.Request) -> web.Response:
        return web.Response(status=204)

    app = web.Application()
    app.router.add_post("/ari/channels/{id}/answer", answer)
    async with TestServer(app, host="127.0.0.1") as server, aiohttp.ClientSession() as http:
        ari = AriClient(http, AriConnection(str(server.make_url("")), "u", "p", "cc"), on_request=metrics.ari_request)
        await ari.answer("1700000000.12")
        gone = AriClient(http, AriConnection("http://127.0.0.1:9", "u", "p", "cc"), on_request=metrics.ari_request)
        with pytest.raises(AriUnavailable):
            await gone.answer("1700000000.13")
    text = metrics.render().decode()
    assert 'callcontrol_ari_request_duration_seconds_count{operation="POST /channels/{id}/answer"} 1.0' in text
    assert 'callcontrol_ari_request_errors_total{operation="POST /channels/{id}/answer"} 1.0' in text
