"""The agents' line (city.agents_line, Stasis kind `agents-line`): an agent calls from her mobile.

She is recognised by caller ID (E.164, normalised with phonenumbers by the session) against the agents' `mobile`;
a withheld or unknown caller ID is asked for her agent code first. Then her PIN (argon2 hash in the directory):
`pin_tries` wrong PINs (a PIN of the wrong length, or '#' alone, counts) lock that caller ID out for
`lockout_minutes`, counted in Redis (every instance shares the count), with one `security` log line.
Menu: 1 log in on this mobile, 2 log out, 3 hand my duty to a colleague (her agent code), 4 who is on duty now,
5 pause / resume. Each choice is answered by a prompt (a refusal says why), then goodbye and hangup.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import structlog

from callcontrol import numbers
from callcontrol.agents.presence import Presence, PresenceRefused
from callcontrol.calls.errors import CallEnded
from callcontrol.selfservice import prompts
from callcontrol.selfservice.actions import toggle_pause
from callcontrol.selfservice.directory import AgentDirectory, HotlineCodes
from callcontrol.selfservice.feature_codes import AnsweredCall
from callcontrol.selfservice.keypad import read_choice, read_number
from callcontrol.selfservice.pin import check_pin
from callcontrol.settings_sections import SelfServiceSettings
from callcontrol.state.agents import Agents
from callcontrol.state.errors import StateError
from callcontrol.state.models import AgentRecord
from callcontrol.state.pin_lock import PinLock

log = structlog.get_logger("callcontrol.selfservice")

AGENTS_LINE = "agents-line"  # the Stasis kind, and the route in presence_changed
CODE_TRIES = 3  # agent codes asked before hanging up (withheld / unknown caller ID)
MENU_TRIES = 3


class AgentsLine:
    def __init__(
        self,
        *,
        presence: Presence,
        agents: Agents,
        directory: AgentDirectory,
        codes: HotlineCodes,
        lock: PinLock,
        settings: SelfServiceSettings,
        number_salt: str,
    ) -> None:
        self._presence = presence
        self._agents = agents
        self._directory = directory
        self._codes = codes
        self._lock = lock
        self._settings = settings
        self._salt = number_salt

    async def handle(self, call: AnsweredCall) -> None:
        """The dispatcher's handler for kind `agents-line`; every path ends with a prompt and a hangup."""
        await call.answer()
        try:
            agent = await self._identify(call)
            if agent is not None and await self._authenticate(call, agent):
                await self._menu(call, agent)
        except CallEnded:
            raise
        except Exception:
            await self._end(call, prompts.spoken(prompts.FAILED))
            raise

    # ------------------------------------------------------------------------------------------ who is it

    def _caller_key(self, call: AnsweredCall, agent: AgentRecord | None) -> str | None:
        """Whose wrong PINs count: the caller ID's salted hash, or the agent's id when it is withheld."""
        if call.caller:
            return numbers.fingerprint(call.caller, self._salt)
        return f"agent:{agent.id}" if agent else None

    async def _locked(self, call: AnsweredCall, key: str | None) -> bool:
        if key is None or not (await self._lock.check(key)).locked:
            return False
        log.warning("security", what="agents_line_refused_locked", caller=call.caller or "withheld")
        call.note("agents_line:locked")
        await self._end(call, prompts.spoken(prompts.LOCKED))
        return True

    async def _identify(self, call: AnsweredCall) -> AgentRecord | None:
        agent = self._directory.by_mobile(call.caller)
        if await self._locked(call, self._caller_key(call, agent)):
            return None
        if agent is not None:
            call.language = self._directory.language(agent)
            call.note("agents_line:caller_known", agent=agent.id)
            return agent
        await call.play(prompts.spoken(prompts.LINE_WELCOME))
        for _ in range(CODE_TRIES):
            code = await read_number(call, prompts.spoken(prompts.ENTER_CODE), max_digits=6)
            if code is None:
                break
            agent = self._directory.by_code(code)
            if agent is not None:
                call.language = self._directory.language(agent)
                call.note("agents_line:code", agent=agent.id)
                return None if await self._locked(call, self._caller_key(call, agent)) else agent
            await call.play(prompts.spoken(prompts.UNKNOWN_AGENT))
        await self._end(call, prompts.spoken(prompts.GOODBYE))
        return None

    async def _authenticate(self, call: AnsweredCall, agent: AgentRecord) -> bool:
        key = self._caller_key(call, agent)
        assert key is not None
        pin_hash = (await self._agents.get_record(agent.id)).pin_hash  # fresh: `agent set-pin` writes it there
        if not pin_hash:
            call.note("agents_line:no_pin", agent=agent.id)
            await self._end(call, prompts.spoken(prompts.NO_PIN))
            return False
        length = self._settings.pin_length
        while True:
            pin = await read_number(call, prompts.spoken(prompts.ENTER_PIN), max_digits=length)
            if pin is None:  # silence: nothing tried
                await self._end(call, prompts.spoken(prompts.GOODBYE))
                return False
            if len(pin) == length and await check_pin(pin_hash, pin):
                await self._lock.succeeded(key)
                call.note("agents_line:pin_ok", agent=agent.id)
                return True
            tries = await self._lock.failed(key)
            call.note("agents_line:pin_wrong", agent=agent.id, tries=tries.count)
            if tries.locked:
                log.warning(
                    "security",
                    what="agents_line_locked_out",
                    caller=call.caller or "withheld",
                    agent=agent.id,
                    tries=tries.count,
                    minutes=round(self._lock.seconds / 60),
                )
                await self._end(call, prompts.spoken(prompts.LOCKED))
                return False
            await call.play(prompts.spoken(prompts.WRONG_PIN))

    # ------------------------------------------------------------------------------------------ the menu

    async def _menu(self, call: AnsweredCall, agent: AgentRecord) -> None:
        choices = {"1": self._login, "2": self._logout, "3": self._hand_over, "4": self._on_duty, "5": self._pause}
        for _ in range(MENU_TRIES):
            key = await read_choice(call, prompts.spoken(prompts.MENU), timeout=8.0)
            if key is None:
                break
            chosen = choices.get(key)
            if chosen is None:
                await call.play(prompts.spoken(prompts.INVALID_CHOICE))
                continue
            call.note("agents_line:choice", agent=agent.id, choice=key)
            try:
                media = await chosen(call, agent)
            except (PresenceRefused, StateError) as exc:
                call.note("agents_line:refused", agent=agent.id, refusal=type(exc).__name__)
                media = prompts.spoken(prompts.refusal(exc))
            await call.play(media)
            break
        await self._end(call, prompts.spoken(prompts.GOODBYE))

    async def _login(self, call: AnsweredCall, agent: AgentRecord) -> list[str]:
        await self._presence.login(agent.id, "mobile", by=AGENTS_LINE)
        return prompts.spoken(prompts.LOGGED_IN_MOBILE)

    async def _logout(self, call: AnsweredCall, agent: AgentRecord) -> list[str]:
        await self._presence.logout(agent.id, by=AGENTS_LINE)
        return prompts.spoken(prompts.LOGGED_OUT_ALL)

    async def _pause(self, call: AnsweredCall, agent: AgentRecord) -> list[str]:
        return await toggle_pause(self._presence, agent.id, self._settings.pause_reason, by=AGENTS_LINE)

    async def _hand_over(self, call: AnsweredCall, agent: AgentRecord) -> list[str]:
        handover = getattr(self._presence, "handover", None)  # the duty side (issue 9) provides it
        if handover is None:
            return prompts.spoken(prompts.NOT_AVAILABLE)
        code = await read_number(call, prompts.spoken(prompts.ENTER_COLLEAGUE), max_digits=6)
        colleague = self._directory.by_code(code)
        if colleague is None:
            return prompts.spoken(prompts.UNKNOWN_AGENT)
        await handover(agent.id, colleague.id, by=AGENTS_LINE)
        return prompts.spoken(prompts.HANDED_OVER, codes=[colleague.code or ""])

    async def _on_duty(self, call: AnsweredCall, agent: AgentRecord) -> list[str]:
        on_duty = getattr(self._presence, "on_duty", None)
        if on_duty is None:
            return prompts.spoken(prompts.NOT_AVAILABLE)
        holders: list[Any] = list(await on_duty())
        if not holders:
            return prompts.spoken(prompts.ON_DUTY_NOBODY)
        zone = call.now().tzinfo
        media: list[str] = []
        for holder in holders:
            hotline_code = self._codes.code_of(holder.hotline)
            if hotline_code:
                media += prompts.spoken(prompts.ON_DUTY_LINE, codes=[hotline_code])
            who = self._directory.get(holder.agent_id)
            media += prompts.spoken(prompts.ON_DUTY_AGENT, codes=[who.code] if who and who.code else [])
            if holder.since:
                at = datetime.fromtimestamp(holder.since, zone)
                media += [prompts.sound(prompts.ON_DUTY_SINCE), f"number:{at.hour}", prompts.sound(prompts.HOURS)]
                media += [f"number:{at.minute}"] if at.minute else []
        return media

    async def _end(self, call: AnsweredCall, media: list[str]) -> None:
        await call.play(media)
        await call.hangup("normal")
