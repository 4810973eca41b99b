"""The number dialled, in logs: a citizen's number an agent called back is masked, extensions and codes are not."""

from __future__ import annotations

from callcontrol.logs import mask_numbers


def test_dialled_phone_numbers_are_masked_and_extensions_or_feature_codes_kept():
    """`dialled` = 0612345678 (an agent calling a citizen back) is masked; 1002 and *45 stay readable."""
    assert "612345678" not in mask_numbers(None, "info", {"dialled": "0612345678"})["dialled"]
    assert mask_numbers(None, "info", {"dialled": "+33612345678"})["dialled"] == "+33 6•• •• •• 78"
    assert mask_numbers(None, "info", {"dialled": "1002"})["dialled"] == "1002"
    assert mask_numbers(None, "info", {"dialled": "*45"})["dialled"] == "*45"
