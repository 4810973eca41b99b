"""Key schema and Lua script loading: the one place that knows Redis key names (see docs/state.md)."""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from importlib import resources
from typing import Any

import orjson
from redis.asyncio import Redis
from redis.exceptions import NoScriptError

from .errors import StateError, raise_for

SCRIPTS = (
    "sync_agents",
    "presence",
    "enqueue",
    "leave",
    "requeue",
    "move",
    "adopt",
    "claim",
    "connect",
    "release",
    "release_no_answer",
    "release_ringall",
    "skip",
    "release_dismissed",
    "take_over",
    "callback",
    "membership",
    "pin_lock",
    "duty",
)


@dataclass(frozen=True, slots=True)
class Keys:
    """Every key of the product. Lua scripts build the same names from the prefix (scripts/_lib.lua)."""

    prefix: str = "cc:"

    @property
    def agents(self) -> str:
        return f"{self.prefix}agents"

    def agent(self, agent_id: str) -> str:
        return f"{self.prefix}agent:{agent_id}"

    def presence(self, agent_id: str) -> str:
        return f"{self.prefix}agent:{agent_id}:presence"

    def hotlines_out(self, agent_id: str) -> str:
        """The configured hotlines an agent left (*46<code>): not in their members zset (membership.lua)."""
        return f"{self.prefix}agent:{agent_id}:out"

    def pin_failures(self, who: str) -> str:
        """Wrong PINs on the agents' line from one caller (a salted hash of the caller ID, or agent:<id>)."""
        return f"{self.prefix}pinlock:{who}"

    @property
    def hotlines(self) -> str:
        return f"{self.prefix}hotlines"

    def members(self, hotline: str) -> str:
        return f"{self.prefix}hotline:{hotline}:members"

    def waiting(self, hotline: str) -> str:
        return f"{self.prefix}hotline:{hotline}:waiting"

    def round_robin(self, hotline: str) -> str:
        return f"{self.prefix}hotline:{hotline}:rr"

    def handling(self, hotline: str) -> str:
        return f"{self.prefix}hotline:{hotline}:handling"

    def reachable(self, hotline: str) -> str:
        """Members who could answer now (logged in, not paused, device reachable): kept by the scripts."""
        return f"{self.prefix}hotline:{hotline}:reachable"

    def ready(self, hotline: str) -> str:
        """Members a claim looks at (unreserved, available or in wrap-up): zset by penalty then idle_since."""
        return f"{self.prefix}hotline:{hotline}:ready"

    def ready_by_id(self, hotline: str) -> str:
        """The ready members as "<penalty, 10 digits>:<id>", every score 0: lex order is linear's / round_robin's."""
        return f"{self.prefix}hotline:{hotline}:ready_by_id"

    def call(self, call_id: str) -> str:
        return f"{self.prefix}call:{call_id}"

    def call_agents(self, call_id: str) -> str:
        return f"{self.prefix}call:{call_id}:agents"

    def skip(self, call_id: str) -> str:
        """Agents never to be offered this call again (a voicemail answered for them); deleted with the call."""
        return f"{self.prefix}call:{call_id}:skip"

    @property
    def calls(self) -> str:
        return f"{self.prefix}calls"

    def instance(self, instance_id: str) -> str:
        return f"{self.prefix}instance:{instance_id}"

    def callback(self, call_id: str) -> str:
        """A kept callback (number, deadline, attempts): deleted when it is done or becomes a ticket."""
        return f"{self.prefix}callback:{call_id}"

    @property
    def callbacks(self) -> str:
        """Kept callbacks by deadline (zset)."""
        return f"{self.prefix}callbacks"

    def callback_slot(self, hotline: str, slot: str) -> str:
        """Rendez-vous taken in a half-day slot (a counter that expires after the slot)."""
        return f"{self.prefix}callbacks:slot:{hotline}:{slot}"

    @property
    def callback_retries(self) -> str:
        """Callbacks between two attempts, by the time of the next one (zset)."""
        return f"{self.prefix}callbacks:retry"

    @property
    def instances(self) -> str:
        return f"{self.prefix}instances"

    @property
    def logged_in(self) -> str:
        """Agents not logged out (kept by the scripts): what Redis would lose with its data."""
        return f"{self.prefix}agents:logged_in"

    @property
    def events(self) -> str:
        return f"{self.prefix}events"

    @property
    def journal(self) -> str:
        return f"{self.prefix}journal"

    def closed(self, scope: str) -> str:
        return f"{self.prefix}closed:{scope}"

    @property
    def closures(self) -> str:
        return f"{self.prefix}closures"

    @property
    def clock(self) -> str:
        return f"{self.prefix}clock"

    @property
    def oncall(self) -> str:
        """Set of the on-call hotlines (their members zset is the live duty: handovers, rota)."""
        return f"{self.prefix}oncall"

    def duty(self, hotline: str) -> str:
        """Hash agent -> {"since", "relieved"} of an on-call hotline's duty holders."""
        return f"{self.prefix}hotline:{hotline}:duty"

    def relief(self, agent_id: str) -> str:
        """The handover an agent's next offered call announces (JSON; taken once)."""
        return f"{self.prefix}agent:{agent_id}:relief"

    @property
    def audit(self) -> str:
        """Capped stream of every presence change (who, what, route, forced, actor, when)."""
        return f"{self.prefix}audit"

    def shift(self, hotline: str, start: str) -> str:
        """Set once by the instance applying the rota shift starting at `start` (ISO) on `hotline`."""
        return f"{self.prefix}rota:{hotline}:{start}"


def _text(value: Any) -> Any:
    return value.decode() if isinstance(value, bytes) else value


def decode_map(raw: Mapping[Any, Any]) -> dict[str, str]:
    """HGETALL result as str -> str whatever the client's decode_responses."""
    return {_text(k): _text(v) for k, v in raw.items()}


def decode_list(raw: Any) -> list[str]:
    return [_text(v) for v in raw]


def load_script_source(name: str) -> str:
    """The script's text with the shared helpers (_lib.lua) in front of it."""
    folder = resources.files("callcontrol.state").joinpath("scripts")
    return folder.joinpath("_lib.lua").read_text("utf-8") + "\n" + folder.joinpath(f"{name}.lua").read_text("utf-8")


class Store:
    """Holds the Redis client, the key schema, the registered scripts and the clock.

    Several callcontrol instances share one Redis (or a Sentinel-managed primary). Scripts build key names
    from the prefix at run time, so they need every key on one node: Redis Cluster is not supported.
    """

    def __init__(self, redis: Redis, *, prefix: str = "cc:", clock: Callable[[], float] = time.time) -> None:
        self.redis = redis
        self.keys = Keys(prefix)
        self.clock = clock
        self._scripts = {name: redis.register_script(load_script_source(name)) for name in SCRIPTS}

    def now(self, now: float | None = None) -> float:
        return self.clock() if now is None else now

    async def run(self, name: str, *args: str | int | float) -> dict[str, Any]:
        """Run a script (EVALSHA, loading it on NOSCRIPT); raise the typed error it reports."""
        raw = await self._scripts[name](keys=[], args=self._args(args))
        return _decoded(raw)

    async def run_two(
        self, first: tuple[str, Sequence[str | int | float]], then: tuple[str, Sequence[str | int | float]]
    ) -> tuple[dict[str, Any], dict[str, Any] | None]:
        """Two scripts in one round trip (a pipeline without transaction: each is atomic, `then` runs right after
        `first`). `first`'s reply, or its typed error raised; `then`'s reply, or None on its typed error. A Redis
        that does not have the scripts yet (started, restarted) gets them, and each runs again after the other."""
        async with self.redis.pipeline(transaction=False) as pipe:
            for name, args in (first, then):
                pipe.evalsha(self._scripts[name].sha, 0, *self._args(args))
            raw_first, raw_then = await pipe.execute(raise_on_error=False)
        reloaded = isinstance(raw_first, NoScriptError)
        if reloaded:
            raw_first = await self._scripts[first[0]](keys=[], args=self._args(first[1]))  # loads it
        elif isinstance(raw_first, Exception):
            raise raw_first
        reply = _decoded(raw_first)
        if reloaded or isinstance(raw_then, NoScriptError):  # `then` ran before `first`, or not at all
            raw_then = await self._scripts[then[0]](keys=[], args=self._args(then[1]))
        try:
            return reply, None if isinstance(raw_then, Exception) else _decoded(raw_then)
        except StateError:
            return reply, None

    def _args(self, args: Sequence[str | int | float]) -> list[str]:
        return [self.keys.prefix, *(str(a) for a in args)]


def _decoded(raw: Any) -> dict[str, Any]:
    """A script's JSON reply, its typed error raised (state/errors.py)."""
    reply = orjson.loads(raw)
    if reply == []:  # an empty Lua table may be encoded as [] (fakeredis) or {} (Redis)
        reply = {}
    raise_for(reply)
    return reply

