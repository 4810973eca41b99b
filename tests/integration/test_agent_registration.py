"""Agents' softphones register to Asterisk with digest authentication."""

import pytest
from harness import Ari

pytestmark = pytest.mark.integration


def test_given_softphone_credentials_when_agent_registers_then_asterisk_accepts(people, ari: Ari):
    """A softphone with its password registers (401 challenge, then 200); a wrong password is refused."""
    ok = people.register("1001", "agent-demo")
    assert ok.registered, [str(m) for m in ok.messages]
    statuses = [m.status for m in ok.messages if m.direction == "received" and m.status != 100]
    assert statuses == [401, 200], statuses
    assert ari.endpoint("PJSIP", "1001")["state"] == "online"

    assert people.unregister("1001")
    assert ari.endpoint("PJSIP", "1001")["state"] == "offline"

    wrong = people.register("1001", "not-the-password")
    assert not wrong.registered
    assert wrong.final_status in (401, 403), [str(m) for m in wrong.messages]
    assert ari.endpoint("PJSIP", "1001")["state"] == "offline"
