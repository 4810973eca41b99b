"""The demo's simulated call: agent Alice answers on her softphone (SIPp, extension 1001), a citizen calls the
public number from 0612345678 (SIPp), presses 1 for the civil registry, talks, and Alice hangs up.

Uses the integration harness's SIPp helpers (tests/integration/sipp.py). Run by scripts/demo.
"""

from __future__ import annotations

import subprocess
import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "tests" / "integration"))

import sipp  # noqa: E402


def main() -> int:
    workdir = Path(tempfile.mkdtemp(prefix="callcontrol-demo-"))
    agent = sipp.agent_phone(workdir, "1001", mode="answer", answer_after=1.0, hangup_after=4.0, name="alice-1001")
    try:
        print("demo: Alice's softphone (1001) registered and waiting", file=sys.stderr)
        # Logged in once registered: a softphone login is refused while the softphone is not registered.
        subprocess.run([sys.executable, "-m", "callcontrol", "agent", "login", "alice"], cwd=REPO, check=True,
                       stdout=sys.stderr)
        citizen = sipp.citizen_call(workdir, "0612345678", "0556000000", dtmf=sipp.dtmf_plan("1", 3.0),
                                    hangup_after=40.0)
        print("demo: citizen 0612345678 calls 0556000000 and presses 1 (état civil)...", file=sys.stderr)
        citizen.wait(45)
        answered = bool(agent.received("INVITE"))
        print(
            f"demo: citizen heard {citizen.audio_received} audio packets; Alice's phone "
            + ("rang and she talked to the citizen" if answered else "did NOT ring"),
            file=sys.stderr,
        )
        invite = agent.received("INVITE")
        if invite:
            print(f"demo: Alice's phone saw From: {invite[0].from_}", file=sys.stderr)
        return 0 if answered else 1
    finally:
        agent.stop()
        sipp.unregister(workdir, "1001")


if __name__ == "__main__":
    sys.exit(main())
