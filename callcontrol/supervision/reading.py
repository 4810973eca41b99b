"""The read-only routes: hotlines with their waiting calls and agents, agents, calls, closures (figures: figures.py).

A viewer gets the privacy-preserving view: an agent is only available / busy / away (no pause reason, device or
call), a caller shows no digit at all, and a call no IVR path nor agents.
"""

from __future__ import annotations

import re

from aiohttp import web

from callcontrol.routing.switchboard import AgentView, WaitingCall
from callcontrol.supervision import models as m
from callcontrol.supervision.auth import Role, require, role_of
from callcontrol.supervision.bodies import refusals, reply
from callcontrol.supervision.routes import RouteDoc, documented
from callcontrol.supervision.server import DEPS

_VIEWER_STATUS = {"available": "available", "ringing": "busy", "on_call": "busy", "wrap_up": "busy",
                  "paused": "away", "logged_out": "away"}
_DIGIT = re.compile(r"\d")


def _full(request: web.Request) -> bool:
    role = role_of(request)
    return role is not None and role.allows(Role.SWITCHBOARD)


def call_out(call: WaitingCall, full: bool) -> m.CallOut:
    if not full:
        return m.CallOut(call_id=call.call_id, hotline=call.hotline, caller=_DIGIT.sub("•", call.caller),
                         status=call.status, waited=call.waited, position=call.position)
    return m.CallOut(call_id=call.call_id, hotline=call.hotline, caller=call.caller, status=call.status,
                     waited=call.waited, position=call.position, path=list(call.path), agents=list(call.agents))


def agent_out(agent: AgentView, full: bool) -> m.AgentOut:
    if not full:
        return m.AgentOut(agent_id=agent.agent_id, name=agent.name, status=_VIEWER_STATUS.get(agent.status, "away"),
                          in_state=agent.in_state, since=agent.since, hotlines=list(agent.hotlines))
    return m.AgentOut(agent_id=agent.agent_id, name=agent.name, status=agent.status, in_state=agent.in_state,
                      since=agent.since, hotlines=list(agent.hotlines), device=agent.device,
                      pause_reason=agent.pause_reason, call_id=agent.call_id, reachable=agent.reachable)


async def hotlines(request: web.Request) -> web.Response:
    require(request, Role.VIEWER)
    full = _full(request)
    async with refusals():
        views = await request.app[DEPS].switchboard.hotlines()
    return reply(m.HotlinesOut(hotlines=[
        m.HotlineOut(hotline_id=h.hotline_id, name=h.name, closed=h.closed, closed_until=h.closed_until,
                     waiting=[call_out(c, full) for c in h.waiting], agents=[agent_out(a, full) for a in h.agents])
        for h in views
    ]))


async def agents(request: web.Request) -> web.Response:
    require(request, Role.VIEWER)
    full = _full(request)
    async with refusals():
        views = await request.app[DEPS].switchboard.agents(request.query.get("hotline") or None)
    return reply(m.AgentsOut(agents=[agent_out(a, full) for a in views]))


async def calls(request: web.Request) -> web.Response:
    require(request, Role.VIEWER)
    full = _full(request)
    async with refusals():
        views = await request.app[DEPS].switchboard.calls(request.query.get("hotline") or None)
    return reply(m.CallsOut(calls=[call_out(c, full) for c in views]))


async def one_call(request: web.Request) -> web.Response:
    require(request, Role.VIEWER)
    async with refusals():
        view = await request.app[DEPS].switchboard.call(request.match_info["call_id"])
    return reply(call_out(view, _full(request)))


async def closures(request: web.Request) -> web.Response:
    require(request, Role.VIEWER)
    async with refusals():
        found = await request.app[DEPS].state.closures.list_closed()
    return reply(m.ClosuresOut(closures=[m.ClosureOut(scope=c.scope, closed=True, until=c.until) for c in found]))


_HOTLINE_PARAM = {"hotline": "only this hotline"}


def add_routes(app: web.Application) -> None:
    documented(app, RouteDoc("GET", "/api/hotlines", "Hotlines with their waiting calls and their agents",
                             Role.VIEWER, response=m.HotlinesOut, tag="reading"), hotlines)
    documented(app, RouteDoc("GET", "/api/agents", "Agents with their state and time in state", Role.VIEWER,
                             response=m.AgentsOut, tag="reading", errors=(404,), params=_HOTLINE_PARAM), agents)
    documented(app, RouteDoc("GET", "/api/calls", "Waiting calls, head of each queue first", Role.VIEWER,
                             response=m.CallsOut, tag="reading", errors=(404,), params=_HOTLINE_PARAM), calls)
    documented(app, RouteDoc("GET", "/api/calls/{call_id}", "One queued call", Role.VIEWER, response=m.CallOut,
                             tag="reading", errors=(404,)), one_call)
    documented(app, RouteDoc("GET", "/api/closures", 'Manual "closed now" switches in force', Role.VIEWER,
                             response=m.ClosuresOut, tag="reading"), closures)
