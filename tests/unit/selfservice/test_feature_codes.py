"""Softphone feature codes *45 *46 *47 *48: the presence change, the prompt heard, then the hangup."""

from __future__ import annotations

import pytest

from callcontrol.agents.presence import Leaving, OnCallUncovered
from callcontrol.selfservice.feature_codes import Action, FeatureCodes, FeatureRequest, parse
from callcontrol.state.membership import Membership
from callcontrol.state.models import AgentStatus

from .kit import CODES, SETTINGS, FakeCall, directory, make_state, presence


@pytest.fixture
async def state():
    layer = await make_state()
    yield layer
    await layer.store.redis.aclose()


def codes(state, **kw) -> FeatureCodes:
    return FeatureCodes(
        presence=presence(state, **kw),
        membership=Membership(state.store, CODES.on_call),
        directory=directory(),
        codes=CODES,
        settings=SETTINGS,
    )


async def dial(state, code: str, endpoint: str = "1001", **kw) -> FakeCall:
    call = FakeCall(dialled=code)
    await codes(state, **kw).handle(call, endpoint)
    assert call.answered and call.hung_up, call.heard
    return call


async def status(state, agent: str = "alice") -> AgentStatus:
    return (await state.agents.get_state(agent)).status


def test_codes_are_parsed_with_their_digits() -> None:
    """*45 / *451 / *471 are ours; *48 takes no digits; anything else is not a feature code of ours."""
    assert parse("*45") == FeatureRequest(Action.LOGIN)
    assert parse("*451") == FeatureRequest(Action.LOGIN, "1")
    assert parse("*4712") == FeatureRequest(Action.PAUSE, "12")
    assert [parse(c) for c in ("*48", "*481", "*99", "*4", "45", "*45*")] == [
        FeatureRequest(Action.STATUS), None, None, None, None, None
    ]


async def test_star45_logs_in_to_all_hotlines_and_star46_logs_out(state) -> None:
    """*45: available on the softphone in both her hotlines, "connectée à toutes vos lignes"; *46: logged out."""
    call = await dial(state, "*45")
    assert call.prompts() == ["agent-logged-in-all"]
    assert await status(state) is AgentStatus.AVAILABLE
    assert (await state.agents.get_state("alice")).device.value == "softphone"
    call = await dial(state, "*46")
    assert call.prompts() == ["agent-logged-out-all"]
    assert await status(state) is AgentStatus.LOGGED_OUT


async def test_star45_with_a_hotline_code_logs_in_to_that_hotline_only_and_star46_code_leaves_it(state) -> None:
    """*452 (urbanisme) logged out: logged in, in urbanisme alone; *451 adds etat-civil; *462 leaves urbanisme and
    she stays logged in; *461, her last hotline, logs her out; the next *45 is to all her hotlines again."""
    membership = Membership(state.store)
    assert (await dial(state, "*452")).prompts() == ["agent-joined-hotline", "digits:2"]
    assert await membership.hotlines_of("alice") == ("urbanisme",)
    assert await status(state) is AgentStatus.AVAILABLE
    await dial(state, "*451")
    assert await membership.hotlines_of("alice") == ("etat-civil", "urbanisme")
    assert (await dial(state, "*462")).prompts() == ["agent-left-hotline", "digits:2"]
    assert await membership.hotlines_of("alice") == ("etat-civil",)
    assert await status(state) is AgentStatus.AVAILABLE
    assert (await dial(state, "*461")).prompts() == ["agent-logged-out-all"]
    assert await status(state) is AgentStatus.LOGGED_OUT
    assert await membership.hotlines_of("alice") == ("etat-civil", "urbanisme")


async def test_a_hotline_code_that_is_not_hers_gets_a_prompt(state) -> None:
    """*459 (astreinte: not alice's) and *457 (no such hotline): "cette ligne n'existe pas...", nothing changes."""
    for code in ("*459", "*457"):
        assert (await dial(state, code)).prompts() == ["agent-unknown-hotline"]
    assert await status(state) is AgentStatus.LOGGED_OUT


async def test_star47_toggles_pause_with_a_reason_code(state) -> None:
    """*471 pauses with reason 1 (réunion); *47 again resumes; *479 is no reason code; logged out: refused."""
    assert (await dial(state, "*47")).prompts() == ["agent-refused-logged-out"]
    await dial(state, "*45")
    assert (await dial(state, "*471")).prompts() == ["agent-paused"]
    now = await state.agents.get_state("alice")
    assert (now.status, now.pause_reason) == (AgentStatus.PAUSED, "réunion")
    assert (await dial(state, "*47")).prompts() == ["agent-resumed"]
    assert await status(state) is AgentStatus.AVAILABLE
    assert (await dial(state, "*479")).prompts() == ["agent-unknown-reason"]
    assert await status(state) is AgentStatus.AVAILABLE


async def test_star48_says_her_state_and_the_codes_of_her_hotlines(state) -> None:
    """Logged out: just that. Logged in: available, then "vos lignes" and each hotline's code."""
    assert (await dial(state, "*48")).prompts() == ["agent-state-logged-out"]
    await dial(state, "*45")
    heard = (await dial(state, "*48")).prompts()
    assert heard == ["agent-state-available", "agent-your-hotlines", "digits:1", "digits:2"]


async def test_unknown_code_and_unknown_phone_get_a_prompt(state) -> None:
    """*99 -> "ce code n'existe pas"; a softphone nobody has -> "ce poste n'est attribué à aucun agent"."""
    assert (await dial(state, "*99")).prompts() == ["agent-unknown-code"]
    assert (await dial(state, "*45", endpoint="1999")).prompts() == ["agent-not-an-agent"]


async def test_an_english_speaking_agent_hears_english(state) -> None:
    """bob has language: en in agents.yaml: his prompts are played in English."""
    call = await dial(state, "*45", endpoint="1002")
    assert call.languages == ["en"] and call.prompts() == ["agent-logged-in-all"]


async def test_a_refusal_of_the_on_call_rule_is_told_with_its_prompt(state) -> None:
    """The presence's leave guard refusing (the duty side's OnCallUncovered): *46 keeps her logged in and she
    hears that she must hand over first."""

    class Guard:
        async def check(self, agent_id: str, leaving: Leaving, by: str) -> None:
            raise OnCallUncovered(agent_id, ("astreinte",), "log out")

    await dial(state, "*45")
    call = await dial(state, "*46", leave_guard=Guard())
    assert call.prompts() == ["agent-on-call-last"]
    assert await status(state) is AgentStatus.AVAILABLE
