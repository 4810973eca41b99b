"""What the feature codes and the agents' line both do: pause / resume, and say an agent's state."""

from __future__ import annotations

from collections.abc import Mapping

from callcontrol.agents.presence import Presence
from callcontrol.selfservice import prompts
from callcontrol.selfservice.directory import HotlineCodes
from callcontrol.state.membership import Membership
from callcontrol.state.models import AgentStatus


async def toggle_pause(presence: Presence, agent_id: str, reason: str, *, by: str) -> list[str]:
    """Paused: resume; otherwise pause with `reason`. The refusals (logged out, on a call, last one on call)
    come up as PresenceRefused."""
    (now,) = await presence.status(agent_id)
    if now.status is AgentStatus.PAUSED:
        await presence.unpause(agent_id, by=by)
        return prompts.spoken(prompts.RESUMED)
    await presence.pause(agent_id, reason, by=by)
    return prompts.spoken(prompts.PAUSED)


def pause_reason(code: str, reasons: Mapping[str, str], default: str) -> str | None:
    """The reason *47<code> records (None: no such code)."""
    return reasons.get(code) if code else default


async def say_state(presence: Presence, membership: Membership, codes: HotlineCodes, agent_id: str) -> list[str]:
    """Her state, then the codes of the hotlines she is in (when logged in)."""
    (now,) = await presence.status(agent_id)
    media = prompts.spoken(prompts.STATE.get(now.status.value, prompts.STATE["available"]))
    if now.status is AgentStatus.LOGGED_OUT:
        return media
    hotlines = await membership.hotlines_of(agent_id)
    if not hotlines:
        return media + prompts.spoken(prompts.NO_HOTLINE)
    spoken = [c for c in (codes.code_of(h) for h in hotlines) if c is not None]
    return media + prompts.spoken(prompts.YOUR_HOTLINES, codes=spoken)
