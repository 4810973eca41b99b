"""The relief announcement: a colleague's first call after a handover tells her, on her own leg, since when she
is on duty and whom she relieved ("vous êtes d'astreinte depuis 14 h 02, relais de Damien"), before the whisper."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

import structlog

from callcontrol.state.duty import Relief
from callcontrol.state.layer import StateLayer

log = structlog.get_logger("callcontrol.routing")

SINCE_PROMPT = "callcontrol/oncall-since"  # "Vous êtes d'astreinte depuis"
HOURS_PROMPT = "callcontrol/oncall-hours"  # "heures"
RELIEF_PROMPT = "callcontrol/oncall-relief-of"  # "relais de"


def agent_name_prompt(agent_id: str) -> str:
    """The spoken name of an agent (asterisk-conf/prompts: agent-<id>)."""
    return f"callcontrol/agent-{agent_id}"


def relief_media(relief: Relief, zone: ZoneInfo) -> list[str]:
    at = datetime.fromtimestamp(relief.since, zone)
    media = [SINCE_PROMPT, f"number:{at.hour}", HOURS_PROMPT]
    if at.minute:
        media.append(f"number:{at.minute}")
    return [*media, RELIEF_PROMPT, agent_name_prompt(relief.relieved)]


class Reliefs:
    """Takes an agent's pending relief for her next offered on-call call; puts it back if she did not take it."""

    def __init__(self, state: StateLayer, zone: ZoneInfo) -> None:
        self._duty = state.duty
        self._zone = zone

    async def take(self, agent_id: str) -> Relief | None:
        try:
            return await self._duty.take_relief(agent_id)
        except Exception as exc:  # Redis away: the call matters more than the announcement
            log.warning("relief_lookup_failed", agent=agent_id, error=str(exc) or type(exc).__name__)
            return None

    def media(self, relief: Relief | None) -> list[str]:
        return relief_media(relief, self._zone) if relief is not None else []

    async def put_back(self, agent_id: str, relief: Relief) -> None:
        try:
            await self._duty.put_back_relief(agent_id, relief)
        except Exception as exc:
            log.warning("relief_put_back_failed", agent=agent_id, error=str(exc) or type(exc).__name__)
