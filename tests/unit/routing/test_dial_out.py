"""The dial-out allow-list: what an agent may call from her softphone (routing/dial_out.py)."""

from __future__ import annotations

import pytest

from callcontrol.routing.dial_out import DialOutPolicy, looks_like_outside_number

DEFAULT = DialOutPolicy.build("FR", ["fixed_line", "mobile"])


@pytest.mark.parametrize(
    ("dialled", "number", "reason"),
    [
        ("0612345678", "+33612345678", "mobile"),
        ("+33612345678", "+33612345678", "mobile"),
        ("0033612345678", "+33612345678", "mobile"),
        ("0556000000", "+33556000000", "fixed_line"),
    ],
)
def test_national_fixed_and_mobile_numbers_are_allowed_in_e164(dialled: str, number: str, reason: str) -> None:
    """A national fixed or mobile number, in any usual spelling, is dialled out in E.164."""
    decision = DEFAULT.decide(dialled)
    assert (decision.allowed, decision.number, decision.reason) == (True, number, reason)


@pytest.mark.parametrize(
    ("dialled", "reason"),
    [
        ("0899123456", "type_premium_rate"),
        ("0810123456", "type_shared_cost"),
        ("0912345678", "type_voip"),  # not in this allow-list (the shipped configuration adds voip)
        ("+4930123456", "international"),
        ("004930123456", "international"),
        ("112", "not_a_number"),
        ("3615", "not_a_number"),
        ("0612", "invalid"),
        ("*45", "not_a_number"),
    ],
)
def test_premium_shared_cost_international_and_short_numbers_are_refused(dialled: str, reason: str) -> None:
    """Premium-rate (08 9x), shared cost, types not allowed, international, short and malformed: refused."""
    decision = DEFAULT.decide(dialled)
    assert not decision.allowed and decision.reason == reason


def test_configuration_opens_listed_numbers_short_numbers_and_international() -> None:
    """Listed E.164 numbers pass whatever their type, configured short numbers are dialled as is, and
    `international` lets other countries' numbers of an allowed type through."""
    policy = DialOutPolicy.build(
        "FR", ["fixed_line"], international=True, numbers=["+33899123456"], short_numbers=["112"]
    )
    assert policy.decide("0899123456").allowed and policy.decide("0899123456").reason == "listed"
    assert (policy.decide("112").allowed, policy.decide("112").number) == (True, "112")
    assert policy.decide("+4930123456").allowed
    assert not policy.decide("0612345678").allowed  # mobile not in this allow-list


def test_unknown_number_type_in_the_allow_list_is_a_configuration_error() -> None:
    """A misspelt number type is refused when the policy is built, naming the known ones."""
    with pytest.raises(ValueError, match="fixed_lines"):
        DialOutPolicy.build("FR", ["fixed_lines"])


@pytest.mark.parametrize(
    ("dialled", "outside"),
    [("0612345678", True), ("+33612345678", True), ("1002", False), ("*99", False), ("", False), ("+", False)],
)
def test_what_looks_like_an_outside_number(dialled: str, outside: bool) -> None:
    """National (0...) and international (+...) numbers go to the allow-list; extensions and codes do not."""
    assert looks_like_outside_number(dialled) is outside
