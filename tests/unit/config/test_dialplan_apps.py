"""The shipped dialplan only runs applications Asterisk loads (modules.conf has autoload = no)."""

from __future__ import annotations

import re
from pathlib import Path

ASTERISK_CONF = Path(__file__).resolve().parents[3] / "asterisk-conf"
# Applications of the core (pbx_builtins.c, pbx.c): always there.
BUILTIN = {"Answer", "Goto", "GotoIf", "GotoIfTime", "Set", "Hangup", "NoOp", "Wait", "Progress", "Ringing",
           "Busy", "Congestion", "Background", "WaitExten", "ExecIfTime", "SayNumber", "SayDigits", "Return", "Gosub"}
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


def test_the_fallback_reads_astdb_with_a_loaded_func_db() -> None:
    """${DB(callcontrol/oncall)} without func_db is an empty string: the fallback would ring the static number."""
    loaded = set(re.findall(r"^load\s*=>\s*(\S+)\.so", (ASTERISK_CONF / "modules.conf").read_text(), re.M))
    assert "${DB(callcontrol/oncall)}" in (ASTERISK_CONF / "extensions.conf").read_text()
    assert "func_db" in loaded
