"""What the HTTP side receives from the composition root (app.py): use cases and the state layer, never ARI."""

from __future__ import annotations

from dataclasses import dataclass

from callcontrol.agents.presence import Presence
from callcontrol.clock import Clock
from callcontrol.routing.switchboard import Switchboard
from callcontrol.state.layer import StateLayer
from callcontrol.supervision.auth import FailureLimiter, Tokens


@dataclass(frozen=True)
class SupervisionDeps:
    """Everything a route needs. `switchboard`: the read views (hotlines, agents, calls, figures) and the call
    actions, shared with the CLI; `presence`: forced login / logout / pause; `state.events`: the one events
    channel (wallboard SSE, metrics); `clock`: the one city clock; `tokens` / `limiter`: auth."""

    switchboard: Switchboard
    presence: Presence
    state: StateLayer
    clock: Clock
    tokens: Tokens
    limiter: FailureLimiter
