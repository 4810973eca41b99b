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


RING_SECONDS = 8  # FALLBACK_RING_SECONDS (25 in asterisk-conf/extensions.conf), set for the test through ARI
MAX_NO_PACKET = 1.5  # seconds without any RTP: the line went dead
MAX_NO_SOUND = 4.0  # seconds without sound: longer than the pause of a ringback cadence (3.5 s in France)


@pytest.fixture
def short_fallback_ring(ari: Ari):
    """The fallback route's ring time (the dialplan global FALLBACK_RING_SECONDS) at RING_SECONDS for this test:
    the same route and cadence, seconds instead of 25; the configured value is put back afterwards."""
    name = "FALLBACK_RING_SECONDS"
    configured = ari.get("asterisk/variable", variable=name)["value"]
    ari.post("asterisk/variable", variable=name, value=str(RING_SECONDS))
    try:
        yield
    finally:
        ari.post("asterisk/variable", variable=name, value=configured)


@pytest.mark.parametrize(
    "mode",
    [
        pytest.param("ring", id="phone-rings"),  # 180 Ringing
        pytest.param("progress", id="network-pages"),  # 183 with SDP, no ringing, no early media
    ],
)
def test_given_no_app_and_on_call_never_answers_when_citizen_waits_then_never_silence_before_voicemail(
    mode, short_fallback_ring, people, ari
):
    """With callcontrol down and the on-call phone not answering, the citizen hears ringback, never dead air,
    whatever the carrier signals (ringing, or only session progress without early media)."""
    assert "callcontrol" not in ari.applications(), "precondition: no callcontrol ARI app may be connected"
    carrier = people.carrier(mode=mode)

    citizen = people.citizen(CITIZEN, "0556000000", hangup_after=RING_SECONDS + 15)
    citizen.wait_until(lambda: citizen.answered, 10, "the fallback route answered")
    carrier.wait_until(lambda: carrier.received("CANCEL"), RING_SECONDS + 15, "the on-call phone rang out")
    answered_at = citizen.received(200)[0].at
    rang_out_at = carrier.received("CANCEL")[0].at
    stats = citizen.rtp_stats
    # The voicemail prompt follows the ringing: sound again.
    citizen.wait_until(lambda: any(t > rang_out_at + 0.5 for t in stats.sound_times), 10, "the voicemail prompt")

    assert rang_out_at - answered_at >= RING_SECONDS - 2, "the on-call phone did not ring for the whole period"
    where = f"after the answer (the on-call phone rang out at {rang_out_at - answered_at:.1f} s)"
    gap, gap_at = stats.longest_gap(answered_at + 0.5, rang_out_at)
    assert gap <= MAX_NO_PACKET, (
        f"no RTP for {gap:.1f} s from {gap_at - answered_at:.1f} s {where}\n{citizen.describe()}"
    )
    gap, gap_at = stats.longest_gap(answered_at + 0.5, rang_out_at, sound=True)
    assert gap <= MAX_NO_SOUND, (
        f"{gap:.1f} s of silence from {gap_at - answered_at:.1f} s {where}\n{citizen.describe()}"
    )
