"""`callcontrol agent set-pin AGENT`: the agent's PIN for the agents' line, read without echo, stored as a hash.

The argon2id hash is written into config/agents.yaml (`pin_hash:` of that agent: it survives a Redis that lost
its data, and every instance reads it at its next directory sync) and into Redis at once (the running
instances check PINs against Redis), so the new PIN works on the next call without a restart.
"""

from __future__ import annotations

import getpass
import re
import sys
from collections.abc import Callable
from pathlib import Path

from callcontrol.agents.directory import AGENTS_FILE
from callcontrol.configset import ConfigSet
from callcontrol.selfservice.pin import hash_pin, valid_pin
from callcontrol.state.layer import StateLayer
from callcontrol.yamlsource import load_yaml

EXIT_REFUSED = 1


class CannotEdit(Exception):
    """agents.yaml is not laid out so that a line can be written safely (flow style, JSON)."""


def write_pin_hash(path: Path, agent_id: str, pin_hash: str) -> None:
    """Set `pin_hash:` of agent `agent_id` in agents.yaml, keeping every other line (and comment) as it is."""
    doc = load_yaml(path)
    agents = (doc.data or {}).get("agents") or []
    index = next((i for i, a in enumerate(agents) if isinstance(a, dict) and a.get("id") == agent_id), None)
    if index is None:
        raise CannotEdit(f"agent {agent_id!r} is not in {path}")
    lines = path.read_text("utf-8").splitlines(keepends=True)
    id_line = doc.lines.get(("agents", index, "id"))
    hash_line = doc.lines.get(("agents", index, "pin_hash"))
    new_value = f'"{pin_hash}"'
    if hash_line is not None:
        text = lines[hash_line - 1]
        match = re.match(r"^(\s*pin_hash:\s*)\S.*?(\s*#.*)?$", text.rstrip("\n"))
        if not match:
            raise CannotEdit(f"{path}:{hash_line}: pin_hash is not on a line of its own")
        lines[hash_line - 1] = f"{match[1]}{new_value}{match[2] or ''}\n"
    else:
        if id_line is None:
            raise CannotEdit(f"cannot locate agent {agent_id!r} in {path}")
        text = lines[id_line - 1]
        match = re.match(r"^(\s*)(-\s+)?id:", text)
        if not match:
            raise CannotEdit(f"{path}:{id_line}: agents are not in block style (one key per line)")
        indent = match[1] + (" " * len(match[2]) if match[2] else "")
        lines.insert(id_line, f"{indent}pin_hash: {new_value}\n")
    path.write_text("".join(lines), "utf-8")
    check = load_yaml(path).data["agents"][index]
    if check.get("pin_hash") != pin_hash:  # never leave a file that says something else
        raise CannotEdit(f"{path}: the edit did not read back as expected")


def read_new_pin(length: int, ask: Callable[[str], str] = getpass.getpass) -> str | None:
    """The new PIN, typed twice without echo; None (said on stderr) when it is refused."""
    pin = ask(f"New PIN ({length} digits): ").strip()
    problem = valid_pin(pin, length)
    if problem:
        print(f"callcontrol: PIN refused: {problem}", file=sys.stderr)
        return None
    if ask("Again: ").strip() != pin:
        print("callcontrol: PIN refused: the two entries differ", file=sys.stderr)
        return None
    return pin


async def set_pin_command(
    config: ConfigSet, agent_id: str, state: StateLayer | None, ask: Callable[[str], str] = getpass.getpass
) -> int:
    """Read, hash, write agents.yaml, then Redis (when given); exit code."""
    if not any(a.id == agent_id for a in config.agents):
        print(f"callcontrol: agent {agent_id!r} is not in {config.directory / AGENTS_FILE}", file=sys.stderr)
        return EXIT_REFUSED
    pin = read_new_pin(config.settings.self_service.pin_length, ask)
    if pin is None:
        return EXIT_REFUSED
    pin_hash = hash_pin(pin)
    try:
        write_pin_hash(config.directory / AGENTS_FILE, agent_id, pin_hash)
    except CannotEdit as exc:
        line = f'pin_hash: "{pin_hash}"'
        print(f"callcontrol: {exc}; add this line to the agent yourself:\n    {line}", file=sys.stderr)
        return EXIT_REFUSED
    if state is None:
        print(f"{agent_id}: PIN set in agents.yaml (Redis not updated: the instances read it when they next start)")
        return 0
    key = state.store.keys.agent(agent_id)
    if await state.store.redis.exists(key):  # never create a half directory entry before the first sync
        await state.store.redis.hset(key, "pin_hash", pin_hash)
    print(f"{agent_id}: PIN set (agents.yaml and the running instances)")
    return 0


def set_pin_main(config: ConfigSet, agent_id: str | None) -> int:
    """`agent set-pin AGENT` from __main__: Redis away still writes agents.yaml (said so)."""
    import asyncio

    from redis.exceptions import RedisError

    from callcontrol.state.connect import connect_redis

    if not agent_id:
        print("callcontrol: agent set-pin needs the agent id", file=sys.stderr)
        return EXIT_REFUSED

    async def run() -> int:
        redis = connect_redis(config.settings.redis, socket_timeout=5)
        try:
            state: StateLayer | None = StateLayer.create(redis)
            try:
                await redis.ping()
            except (RedisError, OSError) as exc:
                print(f"callcontrol: warning: Redis unreachable ({exc or type(exc).__name__})", file=sys.stderr)
                state = None
            return await set_pin_command(config, agent_id, state)
        finally:
            await redis.aclose()

    return asyncio.run(run())
