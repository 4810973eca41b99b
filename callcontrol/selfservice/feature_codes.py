"""Softphone feature codes (Stasis kind `feature`, dialplan [from-agents] `_*X.`), as FreePBX users know them:

    *45 / *45<hotline code>   log in to all my hotlines / to that one (logged in already: join it)
    *46 / *46<hotline code>   log out / leave that hotline only (the last one: log out)
                              (an on-call hotline's members are its duty holders: handover, rota; not these codes)
    *47 / *47<reason code>    pause (reason from self_service.pause_reasons) or, when paused, resume
    *48                       hear my state and the codes of the hotlines I am in

The agent is the one whose softphone is the calling PJSIP endpoint. Each code is answered by a short prompt in
her language (agents.yaml `language:`, else the city's), then the call is hung up; an unknown code or a refusal
gets a prompt saying so, never a bare hangup.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import Protocol

import structlog

from callcontrol.agents.presence import Presence, PresenceRefused
from callcontrol.calls.errors import CallEnded
from callcontrol.calls.port import CallPort
from callcontrol.selfservice import prompts
from callcontrol.selfservice.actions import pause_reason, say_state, toggle_pause
from callcontrol.selfservice.directory import AgentDirectory, HotlineCodes
from callcontrol.settings_sections import SelfServiceSettings
from callcontrol.state.errors import StateError
from callcontrol.state.membership import Membership
from callcontrol.state.models import AgentRecord, AgentStatus

log = structlog.get_logger("callcontrol.selfservice")

FEATURE = "feature"  # the Stasis kind
BY = "softphone"  # the route, in presence_changed and the audit


class Action(StrEnum):
    LOGIN = "45"
    LOGOUT = "46"
    PAUSE = "47"
    STATUS = "48"


@dataclass(frozen=True, slots=True)
class FeatureRequest:
    action: Action
    arg: str = ""  # the digits after the code: a hotline code, a pause reason code


def parse(dialled: str) -> FeatureRequest | None:
    """`*45`, `*452` ... -> the request; None for anything that is not one of ours (or *48 with digits after)."""
    if not dialled.startswith("*") or len(dialled) < 3:
        return None
    try:
        action = Action(dialled[1:3])
    except ValueError:
        return None
    arg = dialled[3:]
    if arg and (not arg.isdigit() or action is Action.STATUS):
        return None
    return FeatureRequest(action, arg)


class AnsweredCall(CallPort, Protocol):
    async def answer(self) -> None: ...


class FeatureCodes:
    def __init__(
        self,
        *,
        presence: Presence,
        membership: Membership,
        directory: AgentDirectory,
        codes: HotlineCodes,
        settings: SelfServiceSettings,
    ) -> None:
        self._presence = presence
        self._membership = membership
        self._directory = directory
        self._codes = codes
        self._settings = settings

    async def handle(self, call: AnsweredCall, endpoint: str | None) -> None:
        """The dispatcher's handler for kind `feature`; `endpoint` is the calling channel's PJSIP endpoint."""
        await call.answer()
        agent = self._directory.by_softphone(endpoint)
        if agent is None:
            log.warning("feature_not_an_agent", endpoint=endpoint, hint="no agent in agents.yaml has this softphone")
            await self._finish(call, prompts.spoken(prompts.NOT_AN_AGENT))
            return
        call.language = self._directory.language(agent)
        request = parse(call.dialled)
        call.note("feature", code=call.dialled, agent=agent.id)
        if request is None:
            call.note("feature:unknown", code=call.dialled, agent=agent.id)
            await self._finish(call, prompts.spoken(prompts.UNKNOWN_CODE))
            return
        try:
            media = await self._serve(agent, request)
        except (PresenceRefused, StateError) as exc:
            call.note("feature:refused", agent=agent.id, refusal=type(exc).__name__)
            media = prompts.spoken(prompts.refusal(exc))
        except CallEnded:
            raise
        except Exception:
            await self._finish(call, prompts.spoken(prompts.FAILED))
            raise
        await self._finish(call, media)

    async def _finish(self, call: AnsweredCall, media: list[str]) -> None:
        await call.play(media)
        await call.hangup("normal")

    async def _serve(self, agent: AgentRecord, request: FeatureRequest) -> list[str]:
        hotline = None
        if request.action in (Action.LOGIN, Action.LOGOUT) and request.arg:
            hotline = self._codes.by_code.get(request.arg)
            if hotline is None or hotline not in agent.hotlines:
                return prompts.spoken(prompts.UNKNOWN_HOTLINE)
        match request.action:
            case Action.LOGIN:
                return await self._login(agent, hotline)
            case Action.LOGOUT:
                return await self._logout(agent, hotline)
            case Action.PAUSE:
                reason = pause_reason(request.arg, self._settings.pause_reasons, self._settings.pause_reason)
                if reason is None:
                    return prompts.spoken(prompts.UNKNOWN_REASON)
                return await toggle_pause(self._presence, agent.id, reason, by=BY)
            case Action.STATUS:
                return await say_state(self._presence, self._membership, self._codes, agent.id)

    async def _login(self, agent: AgentRecord, hotline: str | None) -> list[str]:
        if hotline is None:
            await self._presence.login(agent.id, "softphone", by=BY)
            await self._membership.join_all(agent.id, by=BY)
            return prompts.spoken(prompts.LOGGED_IN_ALL)
        (now,) = await self._presence.status(agent.id)
        if now.status is AgentStatus.LOGGED_OUT:
            await self._membership.only(agent.id, hotline, by=BY)  # logged out: she counts nowhere yet
            try:
                await self._presence.login(agent.id, "softphone", by=BY)
            except BaseException:
                await self._membership.join_all(agent.id, by=BY)  # logged out: back to all for the next login
                raise
        else:
            await self._membership.join(agent.id, hotline, by=BY)
        return prompts.spoken(prompts.JOINED, codes=[self._codes.code_of(hotline) or ""])

    async def _logout(self, agent: AgentRecord, hotline: str | None) -> list[str]:
        if hotline is not None:
            remaining = set(await self._membership.hotlines_of(agent.id)) - {hotline}
            (now,) = await self._presence.status(agent.id)
            if hotline in self._codes.on_call or (remaining and now.status is not AgentStatus.LOGGED_OUT):
                await self._membership.leave(agent.id, hotline, by=BY)  # an on-call one: refused (OnCallDuty)
                return prompts.spoken(prompts.LEFT, codes=[self._codes.code_of(hotline) or ""])
        await self._presence.logout(agent.id, by=BY)  # the on-call rule (the presence's leave guard) applies
        await self._membership.join_all(agent.id, by=BY)  # the next login is to all her hotlines again
        return prompts.spoken(prompts.LOGGED_OUT_ALL)
