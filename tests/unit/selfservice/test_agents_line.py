"""The agents' line: caller ID or agent code, the PIN and its lockout, the menu and what each choice says."""

from __future__ import annotations

import dataclasses
from typing import Any

import pytest
from argon2 import PasswordHasher

from callcontrol.agents.presence import (
    ColleagueUnreachable,
    HandoverToSelf,
    NothingToHandOver,
    NotInHotline,
    PresenceRefused,
)
from callcontrol.selfservice.agents_line import AgentsLine
from callcontrol.state.models import AgentStatus
from callcontrol.state.pin_lock import PinLock

from .kit import AGENTS, CODES, SETTINGS, T0, FakeCall, directory, make_state, presence

DAMIEN, EMMA = "+33612000001", "+33612000002"


@pytest.fixture
async def state():
    layer = await make_state()
    cheap = PasswordHasher(time_cost=1, memory_cost=8, parallelism=1)  # real argon2id, test-sized cost
    pins = {"damien": cheap.hash("4826"), "emma": cheap.hash("7391")}
    await layer.agents.sync_agents([dataclasses.replace(a, pin_hash=pins.get(a.id)) for a in AGENTS])
    yield layer
    await layer.store.redis.aclose()


def line(state, the_presence: Any = None) -> AgentsLine:
    return AgentsLine(
        presence=the_presence or presence(state),
        agents=state.agents,
        directory=directory(),
        codes=CODES,
        lock=PinLock(state.store, limit=3, seconds=900),
        settings=SETTINGS,
        number_salt="salt",
    )


async def call_line(state, caller: str | None, keys: str, the_presence: Any = None) -> FakeCall:
    call = FakeCall(dialled="0556000099", caller=caller, keys=keys)
    await line(state, the_presence).handle(call)
    assert call.answered and call.hung_up, call.heard
    return call


async def status(state, agent: str = "damien") -> AgentStatus:
    return (await state.agents.get_state(agent)).status


async def test_a_known_mobile_with_the_right_pin_logs_in_on_the_mobile(state) -> None:
    """Caller ID = damien's mobile, PIN 4826#, 1: available on the mobile, "connecté sur ce portable"."""
    call = await call_line(state, DAMIEN, "4826#1")
    assert call.prompts() == ["line-enter-pin", "line-menu", "line-logged-in-mobile", "goodbye"]
    now = await state.agents.get_state("damien")
    assert (now.status, now.device.value) == (AgentStatus.AVAILABLE, "mobile")


async def test_menu_2_logs_out_and_5_pauses_then_resumes(state) -> None:
    """2: logged out; 5 while logged in: paused, 5 again: available."""
    await call_line(state, DAMIEN, "4826#1")
    await call_line(state, DAMIEN, "4826#5")
    assert await status(state) is AgentStatus.PAUSED
    assert (await call_line(state, DAMIEN, "4826#5")).prompts()[-2] == "agent-resumed"
    assert (await call_line(state, DAMIEN, "4826#2")).prompts()[-2] == "agent-logged-out-all"
    assert await status(state) is AgentStatus.LOGGED_OUT


async def test_three_wrong_pins_lock_the_caller_id_out_and_a_fourth_right_one_is_refused(state, json_logs) -> None:
    """A PIN of the wrong length, '#' alone and a wrong PIN each count: the third locks that caller ID out (a
    `security` line, the number masked); the next call, with the right PIN, is refused before any PIN."""
    call = await call_line(state, EMMA, "12#" + "#" + "0000#")
    assert call.prompts() == [
        "line-enter-pin", "line-wrong-pin", "line-enter-pin", "line-wrong-pin", "line-enter-pin", "line-locked"
    ]
    (security,) = [e for e in json_logs.events("security") if e["what"] == "agents_line_locked_out"]
    assert security["agent"] == "emma" and security["tries"] == 3
    assert "612000002" not in json_logs.raw and security["caller"].startswith("+33 6")
    call = await call_line(state, EMMA, "7391#1")
    assert call.prompts() == ["line-locked"]
    assert await status(state, "emma") is AgentStatus.LOGGED_OUT


async def test_a_withheld_caller_keys_an_agent_code_first(state) -> None:
    """Withheld: "ligne des agents", an unknown code 999 is told, then 202 (emma) and her PIN: logged in."""
    call = await call_line(state, None, "999#202#7391#1")
    assert call.prompts() == [
        "line-welcome", "line-enter-code", "line-unknown-agent", "line-enter-code", "line-enter-pin", "line-menu",
        "line-logged-in-mobile", "goodbye",
    ]
    assert await status(state, "emma") is AgentStatus.AVAILABLE


async def test_an_agent_without_a_pin_is_told_so(state) -> None:
    """alice has no pin_hash: withheld, code 101 -> "aucun code secret n'est défini pour vous"."""
    assert (await call_line(state, None, "101#")).prompts()[-1] == "line-no-pin"


class Duty:
    """The duty side of the presence (handover, on_duty) as the duty helper builds it, over the real one."""

    def __init__(self, inner: Any, refusal: PresenceRefused | None = None) -> None:
        self._inner = inner
        self._refusal = refusal
        self.handovers: list[tuple[str, str, str]] = []

    def __getattr__(self, name: str) -> Any:
        return getattr(self._inner, name)

    async def handover(self, from_agent: str, to_agent: str, *, by: str) -> Any:
        if self._refusal:
            raise self._refusal
        self.handovers.append((from_agent, to_agent, by))
        return object()

    async def on_duty(self, hotline_id: str | None = None) -> list[Any]:
        holder = type("DutyHolder", (), {"hotline": "astreinte", "agent_id": "emma", "since": T0, "relieved": None})
        return [holder]


async def test_menu_3_hands_the_duty_to_the_colleague_keyed(state) -> None:
    """3 then 202#: handed over to emma by the agents' line, "c'est fait ... l'agent 2 0 2"."""
    duty = Duty(presence(state))
    call = await call_line(state, DAMIEN, "4826#3202#", duty)
    assert duty.handovers == [("damien", "emma", "agents-line")]
    assert call.prompts()[-3:] == ["line-handed-over", "digits:202", "goodbye"]


@pytest.mark.parametrize(
    ("refusal", "prompt"),
    [
        (HandoverToSelf("damien"), "line-handover-self"),
        (NotInHotline("emma", ("astreinte",)), "line-handover-not-member"),
        (ColleagueUnreachable("emma"), "line-handover-unreachable"),
        (NothingToHandOver("damien"), "line-handover-nothing"),
    ],
)
async def test_a_refused_handover_says_why(state, refusal: PresenceRefused, prompt: str) -> None:
    """Each refusal of the handover has its own prompt; an unknown colleague code is told too."""
    duty = Duty(presence(state), refusal)
    assert (await call_line(state, DAMIEN, "4826#3202#", duty)).prompts()[-2] == prompt
    assert (await call_line(state, DAMIEN, "4826#3777#", duty)).prompts()[-2] == "line-unknown-agent"


async def test_menu_4_says_who_is_on_duty_since_when(state) -> None:
    """4: "ligne 9, d'astreinte : l'agent 202, depuis 8 heures" (the city clock's zone, here UTC; no minutes at
    8:00)."""
    call = await call_line(state, DAMIEN, "4826#4", Duty(presence(state)))
    assert call.prompts()[2:] == [
        "line-on-duty-hotline", "digits:9", "line-on-duty-agent", "digits:202", "line-on-duty-since", "number:8",
        "line-hours", "goodbye",
    ]


async def test_without_the_duty_side_menu_3_and_4_say_not_available(state) -> None:
    """A presence with no handover / on_duty (before the duty side is installed): a prompt, no crash."""

    class Bare:  # the presence use cases of before the duty side
        def __init__(self, inner: Any) -> None:
            self.status, self.login, self.logout = inner.status, inner.login, inner.logout

    for choice in ("3", "4"):
        heard = (await call_line(state, DAMIEN, f"4826#{choice}", Bare(presence(state)))).prompts()
        assert heard[-2] == "agent-not-available"
