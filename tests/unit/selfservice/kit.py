"""A fake phone call for the self-service handlers: keys queued in advance, every prompt played recorded."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

import fakeredis

from callcontrol.agents.presence import Presence
from callcontrol.selfservice.directory import AgentDirectory, HotlineCodes
from callcontrol.settings_sections import SelfServiceSettings
from callcontrol.state import AgentRecord, StateLayer

T0 = 1_800_000_000.0
HOTLINES = {"etat-civil": "1", "urbanisme": "2", "astreinte": "9"}
CODES = HotlineCodes({code: h for h, code in HOTLINES.items()}, on_call=frozenset({"astreinte"}))
AGENTS = (
    AgentRecord(id="alice", name="Alice", softphone="1001", hotlines={"etat-civil": 0, "urbanisme": 1}, code="101"),
    AgentRecord(id="bob", name="Bob", softphone="1002", hotlines={"etat-civil": 0}, code="102", language="en"),
    AgentRecord(id="damien", name="Damien", mobile="+33612000001", hotlines={"astreinte": 0}, code="201"),
    AgentRecord(id="emma", name="Emma", mobile="+33612000002", hotlines={"astreinte": 1}, code="202"),
)
SETTINGS = SelfServiceSettings()


class FakeCall:
    """What the handlers use of a call: keys typed ahead (`keys`), the prompts heard (`heard`), the hangup."""

    def __init__(self, dialled: str = "", caller: str | None = None, keys: str = "") -> None:
        self.call_id = "call-1"
        self.dialled = dialled
        self.caller = caller
        self.language = "fr"
        self.path: list[Any] = []
        self.keys = list(keys)
        self.heard: list[list[str]] = []  # each play(), its media
        self.languages: list[str] = []
        self.answered = False
        self.hung_up = False

    def now(self) -> datetime:
        return datetime.fromtimestamp(T0, UTC)

    def note(self, step: str, **detail: Any) -> None:
        self.path.append((step, detail))

    async def answer(self) -> None:
        self.answered = True

    async def play(self, media: Sequence[str], *, interrupt: str = "") -> str | None:
        self.heard.append(list(media))
        self.languages.append(self.language)
        if interrupt and self.keys and self.keys[0] in interrupt:
            return self.keys.pop(0)
        return None

    async def read_digit(self, timeout: float) -> str | None:
        return self.keys.pop(0) if self.keys else None

    async def hangup(self, reason: str = "normal") -> None:
        self.hung_up = True

    def prompts(self) -> list[str]:
        """Every sound heard, without the sound:callcontrol/ prefix (digits kept as digits:N)."""
        return [m.removeprefix("sound:callcontrol/") for media in self.heard for m in media]


async def make_state() -> StateLayer:
    layer = StateLayer.create(fakeredis.FakeAsyncRedis(decode_responses=True), clock=lambda: T0)
    await layer.agents.sync_agents(AGENTS)
    return layer


def directory() -> AgentDirectory:
    return AgentDirectory(AGENTS, "fr")


def presence(state: StateLayer, **kw: Any) -> Presence:
    return Presence(state, lambda: T0, **kw)
