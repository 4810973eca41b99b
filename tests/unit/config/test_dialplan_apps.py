"""The shipped dialplan only runs applications Asterisk loads (modules.conf has autoload = no)."""

from __future__ import annotations

import re
from pathlib import Path

ASTERISK_CONF = Path(__file__).resolve().parents[3] / "asterisk-conf"
# Applications of the core (pbx_builtins.c, pbx.c): always there.
BUILTIN = {"Answer", "Goto", "GotoIf", "GotoIfTime", "Set", "Hangup", "NoOp", "Wait", "Progress", "Ringing",
           "Busy", "Congestion", "Background", "ExecIfTime", "SayNumber", "SayDigits", "Return", "Gosub"}
MODULE_OF = {"Gosub": "app_stack", "Return": "app_stack", "SendDTMF": "app_senddtmf", "VoiceMail": "app_voicemail"}


def test_every_dialplan_application_is_loaded() -> None:
    """An application of no loaded module (ExecIf without app_exec) silently ends the fallback route."""
    loaded = set(re.findall(r"^load\s*=>\s*(\S+)\.so", (ASTERISK_CONF / "modules.conf").read_text(), re.M))
    text = (ASTERISK_CONF / "extensions.conf").read_text()
    used = set(re.findall(r"^\s*(?:exten\s*=>\s*[^,]+|same\s*=>\s*)[^,]*,\s*([A-Za-z]+)\(", text, re.M))
    missing = sorted(
        app for app in used
        if app not in BUILTIN - set(MODULE_OF) and MODULE_OF.get(app, f"app_{app.lower()}") not in loaded
    )
    assert used >= {"Dial", "GotoIf", "Playback", "Stasis"}, used
    assert missing == [], f"applications without a loaded module: {missing}"
