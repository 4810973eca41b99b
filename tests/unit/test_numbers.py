"""Phone numbers: normalised to E.164, masked for logs, fingerprinted for correlation."""

import pytest

from callcontrol import numbers


@pytest.mark.parametrize("raw", ["0612345678", "06 12 34 56 78", "+33 6 12 34 56 78", "0033612345678"])
def test_french_forms_normalise_to_e164(raw: str):
    """Every spelling of a French mobile number gives the same E.164 form."""
    assert numbers.normalise(raw, "FR") == "+33612345678"


@pytest.mark.parametrize("raw", [None, "", "anonymous", "Restricted", " unknown ", "private"])
def test_withheld_numbers(raw):
    """Withheld callers normalise to None, mask to 'anonymous' and have no fingerprint."""
    assert numbers.is_withheld(raw)
    assert numbers.normalise(raw) is None
    assert numbers.mask(raw) == "anonymous"
    assert numbers.fingerprint(raw, "salt") is None


def test_garbage_is_not_a_number():
    """A caller id that is not a phone number normalises to None and masks without leaking digits."""
    assert numbers.normalise("sip:bob@example.org") is None
    assert numbers.mask("sip:bob@example.org") == "unknown"
    assert numbers.mask("12") == "••"


def test_mask_keeps_country_first_and_last_two_digits():
    """The masked form keeps only the country code, the first digit and the last two digits."""
    assert numbers.mask("0612345678") == "+33 6•• •• •• 78"
    assert numbers.mask("+4915112345678") == "+49 1••••••••78"


def test_fingerprint_correlates_spellings_and_depends_on_salt():
    """One caller gets one fingerprint whatever the spelling; another salt gives another fingerprint."""
    a = numbers.fingerprint("0612345678", "s1")
    assert a == numbers.fingerprint("+33 6 12 34 56 78", "s1")
    assert a != numbers.fingerprint("0612345678", "s2")
    assert a != numbers.fingerprint("0612345679", "s1")
    assert a is not None and len(a) == 12 and "612345678" not in a
