"""The follow-up tickets (voicemails, late or failed callbacks): list, assign, done, and a voicemail's audio.

Privacy as everywhere in the API: a viewer sees a ticket's hotline, status and times, never its caller (not even
masked), its number or its notes; the switchboard and supervisors see the masked caller, and the full number to
call back while the ticket is open. A change is recorded as done by `api:<role>` of the token (the API's actor,
like the call actions' by="api"). The audio comes from Asterisk through the use case the composition root passes
(SupervisionDeps.voicemail: followup/voicemail.py over the ARI client): supervision never talks to ARI.
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator

from aiohttp import web

from callcontrol.followup.voicemail import NoRecording
from callcontrol.state.errors import AgentNotFound
from callcontrol.state.tickets import Ticket, TicketClosed, TicketNotFound
from callcontrol.supervision import models as m
from callcontrol.supervision.actions import BY
from callcontrol.supervision.auth import Role, json_error, require, role_of
from callcontrol.supervision.bodies import read_body, refusals, reply
from callcontrol.supervision.routes import RouteDoc, documented
from callcontrol.supervision.server import DEPS

_STATUSES = ("new", "assigned", "done", "open")


def ticket_out(t: Ticket, full: bool) -> m.TicketOut:
    seen = dict(id=t.id, kind=t.kind, hotline=t.hotline, call_id=t.call_id, status=t.status.value,
                created_at=t.created_at, duration=t.duration, has_audio=bool(t.recording), assigned_to=t.assigned_to,
                assigned_at=t.assigned_at, done_by=t.done_by, done_at=t.done_at)
    if full:
        seen |= dict(caller=t.caller_masked, number=t.number, note=t.note, done_note=t.done_note)
    return m.TicketOut(**seen)


def _full(request: web.Request) -> bool:
    role = role_of(request)
    return role is not None and role.allows(Role.SWITCHBOARD)


@contextlib.asynccontextmanager
async def _ticket_refusals() -> AsyncIterator[None]:
    """Unknown (or malformed) ticket or agent: 404; a done ticket: 409; Redis away: 503 (refusals)."""
    async with refusals():
        try:
            yield
        except (TicketNotFound, AgentNotFound, ValueError) as exc:
            raise json_error(web.HTTPNotFound, "not_found", str(exc)) from None
        except TicketClosed as exc:
            raise json_error(web.HTTPConflict, "ticket_done", str(exc)) from None


async def list_tickets(request: web.Request) -> web.Response:
    require(request, Role.VIEWER)
    status = request.query.get("status") or None
    if status is not None and status not in _STATUSES:
        raise json_error(web.HTTPUnprocessableEntity, "invalid", f"status: must be one of {', '.join(_STATUSES)}")
    hotline = request.query.get("hotline") or None
    async with refusals():
        found = await request.app[DEPS].state.tickets.list(None if status == "open" else status, hotline)
    if status == "open":
        found = [t for t in found if t.status.value != "done"]
    full = _full(request)
    return reply(m.TicketsOut(tickets=[ticket_out(t, full) for t in found]))


async def assign(request: web.Request) -> web.Response:
    require(request, Role.SWITCHBOARD)
    body = await read_body(request, m.AssignIn)
    state = request.app[DEPS].state
    async with _ticket_refusals():
        await state.tickets.get(request.match_info["ticket_id"])
        await state.agents.get_record(body.agent)
        ticket = await state.tickets.assign(request.match_info["ticket_id"], body.agent)
    return reply(ticket_out(ticket, True))


async def done(request: web.Request) -> web.Response:
    require(request, Role.SWITCHBOARD)
    body = await read_body(request, m.DoneIn)
    by = f"{BY}:{role_of(request)}"
    async with _ticket_refusals():
        ticket = await request.app[DEPS].state.tickets.done(request.match_info["ticket_id"], by, body.note)
    return reply(ticket_out(ticket, True))


async def audio(request: web.Request) -> web.Response:
    require(request, Role.SWITCHBOARD)
    ticket_id = request.match_info["ticket_id"]
    source = request.app[DEPS].voicemail
    if source is None:
        raise json_error(web.HTTPNotFound, "no_recording", "this instance serves no recordings")
    async with _ticket_refusals():
        try:
            wav = await source.audio(ticket_id)
        except NoRecording as exc:
            raise json_error(web.HTTPNotFound, "no_recording", str(exc)) from None
    return web.Response(body=wav, content_type="audio/wav", headers={
        "Content-Disposition": f'inline; filename="ticket-{ticket_id}.wav"', "Cache-Control": "no-store"})


def add_routes(app: web.Application) -> None:
    one, sb = "/api/tickets/{ticket_id}", Role.SWITCHBOARD
    documented(app, RouteDoc("GET", "/api/tickets", "Follow-up tickets, oldest first (a viewer sees no caller)",
                             Role.VIEWER, response=m.TicketsOut, tag="tickets", errors=(422,),
                             params={"status": "new, assigned, done, or open (new and assigned); default every one",
                                     "hotline": "only this hotline"}), list_tickets)
    documented(app, RouteDoc("POST", f"{one}/assign", "Give the ticket to an agent", sb, body=m.AssignIn,
                             response=m.TicketOut, tag="tickets", errors=(404, 409)), assign)
    documented(app, RouteDoc("POST", f"{one}/done", "Close the ticket with a note (its number is forgotten)", sb,
                             body=m.DoneIn, response=m.TicketOut, tag="tickets", errors=(404, 409)), done)
    documented(app, RouteDoc("GET", f"{one}/audio", "The voicemail's recording (WAV, from Asterisk)", sb,
                             content_type="audio/wav", tag="tickets", errors=(404,)), audio)
