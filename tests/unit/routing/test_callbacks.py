"""Issue 11: the callback offered to a waiting citizen, its number rules, and who claims it (routing/callback*)."""

from __future__ import annotations

import textwrap
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from callcontrol.calls.outcome import CallFacts
from callcontrol.clock import Clock
from callcontrol.routing.callback_offer import PROMPT_KEPT, PROMPT_REFUSED, CallbackOffers
from callcontrol.routing.dial_out import DialOutPolicy
from callcontrol.routing.distributor import Distributor
from callcontrol.routing.hotlines import CallbackSettings, HotlineRouting, read_hotline_routing
from callcontrol.state import Strategy
from callcontrol.state.callbacks import CALLBACK_OWNER

from .kit import HOTLINE, INSTANCE, staff

POLICY = DialOutPolicy.build("FR", ["fixed_line", "mobile"], short_numbers=["112"])
SETTINGS = CallbackSettings(offer_after=1, deadline=3600)
LINE = HotlineRouting(id=HOTLINE, callback=SETTINGS)


@dataclass
class KeyingCall:
    """A citizen on the phone who types `keys` in order, one per prompt or read (None: stays silent)."""

    keys: list[str | None]
    caller: str | None = "+33612345678"
    call_id: str = "c1"
    played: list[list[str]] = field(default_factory=list)
    steps: list[tuple[str, dict[str, Any]]] = field(default_factory=list)
    facts: CallFacts = field(default_factory=CallFacts)
    started_at: float = 0.0

    def _next(self) -> str | None:
        return self.keys.pop(0) if self.keys else None

    async def play(self, media, *, interrupt: str = "") -> str | None:
        self.played.append(list(media))
        return self._next() if interrupt else None

    async def read_digit(self, timeout: float) -> str | None:
        return self._next()

    def note(self, step: str, **detail: Any) -> None:
        self.steps.append((step, detail))

    def step(self, name: str) -> dict[str, Any] | None:
        return next((d for s, d in self.steps if s == name), None)


def offers(layer) -> CallbackOffers:
    return CallbackOffers(state=layer, policy=POLICY, clock=Clock(zone=ZoneInfo("Europe/Paris")))


def test_only_national_numbers_of_the_dial_out_allow_list_are_called_back(state):
    """Premium-rate, international and short numbers (even one agents may dial) are refused; a mobile is kept."""
    layer, _ = state
    desk = offers(layer)
    assert desk.national("0899123456") == (None, "type_premium_rate")
    assert desk.national("+4930123456") == (None, "international")
    assert desk.national("112") == (None, "short_number")
    assert desk.national("0612345678")[0] == "+33612345678"


async def test_given_a_waiting_citizen_when_they_press_1_and_confirm_then_their_place_is_kept_for_a_callback(state):
    """1 then 1 (their own number): the entry becomes a callback at its place, the citizen hears they may hang up."""
    layer, _ = state
    await layer.queues.enqueue("c1", HOTLINE, owner=INSTANCE)
    call = KeyingCall(["1", "1"])
    assert await offers(layer).offer(call, LINE)  # type: ignore[arg-type]
    assert (await layer.queues.get_call("c1")).owner == CALLBACK_OWNER
    record = await layer.callbacks.get("c1")
    assert record is not None and record.number == "+33612345678"
    assert call.played[-1] == [PROMPT_KEPT] and call.facts.queue_result == "callback"


async def test_given_a_premium_rate_number_keyed_in_then_it_is_refused_with_a_prompt_and_asked_again(state):
    """2 (another number), 0899... refused with a prompt, then a valid number keyed in is the one kept."""
    layer, _ = state
    await layer.queues.enqueue("c1", HOTLINE, owner=INSTANCE)
    call = KeyingCall(["1", "2", "0", *"899123456", "#", "0", *"556112233", "#"])
    assert await offers(layer).offer(call, LINE)  # type: ignore[arg-type]
    assert [PROMPT_REFUSED] in call.played
    refused = call.step("callback:number_refused")
    assert refused is not None and refused["reason"] == "type_premium_rate"
    record = await layer.callbacks.get("c1")
    assert record is not None and record.number == "+33556112233"


async def test_given_no_key_pressed_then_the_citizen_keeps_waiting_as_before(state):
    """Silence after the offer: nothing changes (still an ordinary waiting call of ours)."""
    layer, _ = state
    await layer.queues.enqueue("c1", HOTLINE, owner=INSTANCE)
    assert not await offers(layer).offer(KeyingCall([None, None]), LINE)  # type: ignore[arg-type]
    assert (await layer.queues.get_call("c1")).owner == INSTANCE and await layer.callbacks.get("c1") is None


async def test_given_a_kept_callback_when_an_agent_frees_up_then_the_distributor_hands_it_to_the_callback_desk(state):
    """The callback of a citizen of another instance is claimed here and started, ahead of our own later caller."""
    layer, _ = state
    await staff(layer, "1001")
    await layer.agents.pause("1001", "lunch")
    await layer.queues.enqueue("cb", HOTLINE, owner="other-instance")
    await layer.callbacks.keep("cb", "+33612345678", deadline=4e9, retries=1, retry_delay=10)
    await layer.queues.enqueue("later", HOTLINE, owner=INSTANCE)
    distributor = Distributor(layer, {HOTLINE: LINE}, INSTANCE)
    started = []
    distributor.serve_callbacks(started.append, [HOTLINE])
    distributor.register("later", HOTLINE)
    await layer.agents.unpause("1001")
    await distributor.offer_now(HOTLINE)
    assert [c.call_id for c in started] == ["cb"] and started[0].agent_ids == ("1001",)
    assert await layer.queues.position("later") == 1  # not offered: the only agent rings for the callback
    claim = await layer.queues.claim(HOTLINE, Strategy.LONGEST_IDLE, instance=INSTANCE)
    assert claim is None


def test_callback_settings_errors_are_located_by_file_line_and_key(tmp_path: Path):
    """A mistyped callback option or a deadline that is neither end_of_day nor seconds: file:line: key: reason."""
    (tmp_path / "hotlines.yaml").write_text(textwrap.dedent("""\
        hotlines:
          etat-civil:
            callback:
              offer_after: 60
              deadline: tomorrow
              retrys: 3
        """))
    hotlines, issues = read_hotline_routing(tmp_path, display_name="config/hotlines.yaml")
    text = [str(i) for i in issues]
    assert any(t.startswith("config/hotlines.yaml:5: hotlines.etat-civil.callback.deadline") for t in text), text
    assert any(t.startswith("config/hotlines.yaml:6: hotlines.etat-civil.callback.retrys") for t in text), text
    assert hotlines["etat-civil"].callback is None  # listed with defaults, so that nothing else is blamed
