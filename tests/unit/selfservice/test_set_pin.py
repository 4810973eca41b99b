"""`callcontrol agent set-pin AGENT`: read twice without echo, refused when weak, stored as an argon2 hash in
agents.yaml (comments kept) and in Redis."""

from __future__ import annotations

import shutil
from pathlib import Path

import fakeredis
import pytest

from callcontrol.cli.pin import CannotEdit, set_pin_command, write_pin_hash
from callcontrol.configset import load_config_set
from callcontrol.selfservice.pin import pin_matches
from callcontrol.state import StateLayer
from callcontrol.yamlsource import load_yaml

SHIPPED = Path(__file__).resolve().parents[3] / "config"


def answers(*typed: str):
    queue = list(typed)
    return lambda _prompt: queue.pop(0)


async def test_set_pin_writes_the_hash_into_agents_yaml_and_redis(tmp_path: Path, capsys) -> None:
    """damien's PIN 4826: agents.yaml gets pin_hash (every comment and other line unchanged, the file still
    loads), Redis too; the hash verifies 4826 and is not the PIN."""
    config_dir = tmp_path / "config"
    shutil.copytree(SHIPPED, config_dir)
    before = (config_dir / "agents.yaml").read_text("utf-8")
    config = load_config_set(config_dir, {}, check_softphones=False)
    state = StateLayer.create(fakeredis.FakeAsyncRedis(decode_responses=True))
    await state.agents.sync_agents(config.agents)
    assert await set_pin_command(config, "damien", state, ask=answers("4826", "4826")) == 0
    after = (config_dir / "agents.yaml").read_text("utf-8")
    added = [line for line in after.splitlines() if line not in before.splitlines()]
    assert len(added) == 1 and added[0].startswith("    pin_hash: \"$argon2id$") and "4826" not in added[0]
    stored = load_config_set(config_dir, {}, check_softphones=False)
    damien = next(a for a in stored.agents if a.id == "damien")
    assert damien.pin_hash and pin_matches(damien.pin_hash, "4826")
    assert (await state.agents.get_record("damien")).pin_hash == damien.pin_hash
    assert await set_pin_command(config, "damien", state, ask=answers("5937", "5937")) == 0  # replaced in place
    assert len((config_dir / "agents.yaml").read_text("utf-8").splitlines()) == len(after.splitlines())
    assert "PIN set" in capsys.readouterr().out


@pytest.mark.parametrize(
    ("typed", "why"),
    [(("12", "12"), "4 digits"), (("1111", "1111"), "too easy"), (("1234", "1234"), "too easy"),
     (("4826", "4862"), "differ")],
)
async def test_a_weak_or_mistyped_pin_is_refused_and_nothing_written(tmp_path: Path, capsys, typed, why) -> None:
    """Wrong length, one digit repeated, a run, or two different entries: exit 1, the reason, the file unchanged."""
    config_dir = tmp_path / "config"
    shutil.copytree(SHIPPED, config_dir)
    before = (config_dir / "agents.yaml").read_text("utf-8")
    config = load_config_set(config_dir, {}, check_softphones=False)
    assert await set_pin_command(config, "damien", None, ask=answers(*typed)) == 1
    assert why in capsys.readouterr().err
    assert (config_dir / "agents.yaml").read_text("utf-8") == before


def test_a_flow_style_agents_file_is_not_edited(tmp_path: Path) -> None:
    """JSON-like agents.yaml: refused with a reason (the hash is printed for the operator instead)."""
    path = tmp_path / "agents.yaml"
    path.write_text('{"agents": [{"id": "damien", "name": "D", "mobile": "+33612000001"}]}', encoding="utf-8")
    with pytest.raises(CannotEdit):
        write_pin_hash(path, "damien", "$argon2id$x")
    assert load_yaml(path).data["agents"][0].get("pin_hash") is None
