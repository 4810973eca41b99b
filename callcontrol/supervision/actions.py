"""The routes that change something: call actions and open / close (switchboard), forced presence (supervisor).

Call actions go through routing/switchboard.py, presence through agents/presence.py (so the on-call guard
decides a logout or pause; `force` is for supervisors, audited as forced), with by="api".
"""

from __future__ import annotations

from aiohttp import web

from callcontrol.routing.switchboard import ActionDone
from callcontrol.supervision import models as m
from callcontrol.supervision.auth import Role, require
from callcontrol.supervision.bodies import read_body, refusals, reply
from callcontrol.supervision.routes import RouteDoc, documented
from callcontrol.supervision.server import DEPS

BY = "api"


def _done(done: ActionDone) -> web.Response:
    return reply(m.ActionOut(call_id=done.call_id, action=done.action, hotline=done.hotline,  # type: ignore[arg-type]
                             agent_id=done.agent_id, position=done.position))


async def redirect(request: web.Request) -> web.Response:
    require(request, Role.SWITCHBOARD)
    body = await read_body(request, m.RedirectIn)
    async with refusals():
        done = await request.app[DEPS].switchboard.redirect(request.match_info["call_id"], body.agent, by=BY)
    return _done(done)


async def move(request: web.Request) -> web.Response:
    require(request, Role.SWITCHBOARD)
    body = await read_body(request, m.MoveIn)
    async with refusals():
        done = await request.app[DEPS].switchboard.move(request.match_info["call_id"], body.hotline, by=BY)
    return _done(done)


async def pick_up(request: web.Request) -> web.Response:
    require(request, Role.SWITCHBOARD)
    async with refusals():
        done = await request.app[DEPS].switchboard.pick_up(request.match_info["call_id"], by=BY)
    return _done(done)


async def voicemail(request: web.Request) -> web.Response:
    require(request, Role.SWITCHBOARD)
    async with refusals():
        done = await request.app[DEPS].switchboard.voicemail(request.match_info["call_id"], by=BY)
    return _done(done)


async def close(request: web.Request) -> web.Response:
    require(request, Role.SWITCHBOARD)
    body = await read_body(request, m.CloseIn)
    async with refusals():
        until = await request.app[DEPS].switchboard.close(body.scope, minutes=body.minutes, sound=body.sound)
    return reply(m.ClosureOut(scope=body.scope, closed=True, until=until))


async def reopen(request: web.Request) -> web.Response:
    require(request, Role.SWITCHBOARD)
    scope = request.match_info["scope"]
    async with refusals():
        await request.app[DEPS].switchboard.open(scope)
    return reply(m.ClosureOut(scope=scope, closed=False))


def _presence_out(result) -> web.Response:
    return reply(m.PresenceOut(agent_id=result.agent_id, status=result.status.value,
                               device=result.device.value if result.device else None, reason=result.reason,
                               warning=result.warning))


async def login(request: web.Request) -> web.Response:
    require(request, Role.SUPERVISOR)
    body = await read_body(request, m.LoginIn)
    async with refusals():
        result = await request.app[DEPS].presence.login(request.match_info["agent_id"], body.device, by=BY)
    return _presence_out(result)


async def logout(request: web.Request) -> web.Response:
    require(request, Role.SUPERVISOR)
    body = await read_body(request, m.LeaveIn)
    presence = request.app[DEPS].presence
    async with refusals():
        result = await presence.logout(request.match_info["agent_id"], by=BY, force=body.force)
    return _presence_out(result)


async def pause(request: web.Request) -> web.Response:
    require(request, Role.SUPERVISOR)
    body = await read_body(request, m.PauseIn)
    presence = request.app[DEPS].presence
    async with refusals():
        result = await presence.pause(request.match_info["agent_id"], body.reason, by=BY, force=body.force)
    return _presence_out(result)


async def unpause(request: web.Request) -> web.Response:
    require(request, Role.SUPERVISOR)
    async with refusals():
        result = await request.app[DEPS].presence.unpause(request.match_info["agent_id"], by=BY)
    return _presence_out(result)


def add_routes(app: web.Application) -> None:
    call, sb, sup = "/api/calls/{call_id}", Role.SWITCHBOARD, Role.SUPERVISOR
    out, p_out = m.ActionOut, m.PresenceOut
    documented(app, RouteDoc("POST", f"{call}/redirect", "Ring a chosen agent for this waiting call (member of "
                             "its hotline or not); answers once her phone rings", sb, body=m.RedirectIn,
                             response=out, tag="calls", errors=(404, 409)), redirect)
    documented(app, RouteDoc("POST", f"{call}/move", "Move this waiting call to another hotline, keeping its "
                             "waiting time", sb, body=m.MoveIn, response=out, tag="calls", errors=(404, 409)), move)
    documented(app, RouteDoc("POST", f"{call}/pickup", "Ring the switchboard's own phone for this waiting call",
                             sb, response=out, tag="calls", errors=(404, 409)), pick_up)
    documented(app, RouteDoc("POST", f"{call}/voicemail", "Send this waiting call to the mailbox", sb,
                             response=out, tag="calls", errors=(404, 409)), voicemail)
    documented(app, RouteDoc("POST", "/api/closures", 'Close a hotline or the whole town hall ("all") now', sb,
                             body=m.CloseIn, response=m.ClosureOut, tag="closures", errors=(404,)), close)
    documented(app, RouteDoc("DELETE", "/api/closures/{scope}", "Reopen a hotline or the whole town hall", sb,
                             response=m.ClosureOut, tag="closures", errors=(404,)), reopen)
    agent = "/api/agents/{agent_id}"
    documented(app, RouteDoc("POST", f"{agent}/login", "Log an agent in (softphone or mobile)", sup,
                             body=m.LoginIn, response=p_out, tag="presence", errors=(404, 409)), login)
    documented(app, RouteDoc("POST", f"{agent}/logout", "Log an agent out (the on-call guard decides)", sup,
                             body=m.LeaveIn, response=p_out, tag="presence", errors=(404, 409)), logout)
    documented(app, RouteDoc("POST", f"{agent}/pause", "Pause an agent (the on-call guard decides)", sup,
                             body=m.PauseIn, response=p_out, tag="presence", errors=(404, 409)), pause)
    documented(app, RouteDoc("POST", f"{agent}/unpause", "End an agent's pause", sup, response=p_out,
                             tag="presence", errors=(404, 409)), unpause)
