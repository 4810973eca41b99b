"""Whether Redis still holds what this instance wrote at start-up: an epoch key, `cc:epoch`.

Once the directory is synced, an instance writes a random token to `cc:epoch` (SET NX: the first instance's token
stays) and remembers it. A Redis restarted without its data, or flushed, no longer has that token (or has the
new one of an instance that noticed first): the instance then syncs again (directory, shared clock). Presence
cannot be re-created (the agents chose it): `presence_lost` marks the agents that were logged in before, so that
`callcontrol agent status` shows them logged out with that reason until they log in again.
"""

from __future__ import annotations

import json
import secrets
from collections.abc import Iterable

from .store import Store, decode_list, load_script_source


class StateEpoch:
    def __init__(self, store: Store) -> None:
        self._store = store
        self.key = f"{store.keys.prefix}epoch"
        self._presence_lost = store.redis.register_script(load_script_source("presence_lost"))

    async def claim(self) -> str:
        """The data set's token: ours when there was none (SET NX), else the one already there."""
        redis = self._store.redis
        await redis.set(self.key, secrets.token_hex(8), nx=True)
        token = await redis.get(self.key)
        return token.decode() if isinstance(token, bytes) else str(token)

    async def current(self) -> str | None:
        token = await self._store.redis.get(self.key)
        return token.decode() if isinstance(token, bytes) else token

    async def current_and_logged_in(self) -> tuple[str | None, list[str]]:
        """The token and the agents not logged out (sorted) in one round trip: what the state check reads each
        second (`current` and Agents.logged_in_ids together)."""
        async with self._store.redis.pipeline(transaction=False) as pipe:
            pipe.get(self.key)
            pipe.smembers(self._store.keys.logged_in)
            token, ids = await pipe.execute()
        return (token.decode() if isinstance(token, bytes) else token), sorted(decode_list(ids))

    async def mark_presence_lost(self, agent_ids: Iterable[str], *, now: float | None = None) -> list[str]:
        """Agents (still logged out) whose presence Redis lost: reason `presence_lost`; returns those marked."""
        raw = await self._presence_lost(
            keys=[], args=[self._store.keys.prefix, self._store.now(now), json.dumps(sorted(set(agent_ids)))]
        )
        marked = json.loads(raw).get("marked")
        return list(marked) if isinstance(marked, list) else []
