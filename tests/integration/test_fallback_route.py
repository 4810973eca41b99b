"""When no callcontrol instance is connected, the dialplan's fallback route still serves the public number."""

import pytest
from harness import Ari

pytestmark = pytest.mark.integration

CITIZEN = "0612345678"
PUBLIC_NUMBER = "+33556000000"
ONCALL = "+33612000001"


def test_given_no_app_connected_when_citizen_calls_then_fallback_route_answers_with_audio(people, ari: Ari):
    """With callcontrol down a citizen is answered with a prompt; the on-call phone sees only the public number."""
    assert "callcontrol" not in ari.applications(), "precondition: no callcontrol ARI app may be connected"
    carrier = people.carrier(answer_after=0.5, hangup_after=1.0)

    citizen = people.citizen(CITIZEN, "0556000000", hangup_after=30)
    carrier.wait_until(lambda: carrier.answered, 20, "the on-call phone answered")
    assert citizen.wait(10) == 0, citizen.describe()

    # The citizen: answered (never 603), heard the prompt, and saw nothing of the on-call number.
    assert citizen.final_response("INVITE") == 200, citizen.describe()
    assert not citizen.received(603), citizen.describe()
    assert citizen.audio_received >= 50, f"expected >= 1 s of audio\n{citizen.describe()}"
    assert citizen.received("BYE"), "Asterisk hangs up the citizen when the on-call phone hangs up"
    leaks = [str(m) for m in citizen.received() if ONCALL[3:] in m.text]
    assert not leaks, f"the citizen received the on-call number in {leaks}"

    # The on-call phone: called through the carrier with the public number, never the citizen's.
    invites = carrier.received("INVITE")
    assert len(invites) == 1, carrier.describe()
    invite = invites[0]
    assert invite.request_uri.startswith(f"sip:{ONCALL}@"), invite.request_uri
    for name in ("From", "P-Asserted-Identity"):
        value = invite.header(name)
        assert value and PUBLIC_NUMBER in value, f"{name}: {value}"
        assert CITIZEN[1:] not in value, f"{name} leaks the citizen's number: {value}"
    assert CITIZEN[1:] not in invite.text, "the citizen's number appears somewhere in the INVITE"
