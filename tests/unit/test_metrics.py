"""The metrics object: ARI latency by operation, outcomes and service-level results, takeovers, process gauges."""

from __future__ import annotations

import aiohttp
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
