"""Fixtures: the follow-up over a fakeredis state layer, on a settable clock in Paris."""

from __future__ import annotations

from pathlib import Path
from zoneinfo import ZoneInfo

import fakeredis
import pytest

from callcontrol.followup.recorder import FollowUp
from callcontrol.settings_sections import FollowUpSettings
from callcontrol.state import StateLayer

PARIS = ZoneInfo("Europe/Paris")
REPO_CONFIG = Path(__file__).resolve().parents[3] / "config"
T0 = 1_796_205_600.0  # 2026-12-02 11:00:00 Europe/Paris


class Clock:
    def __init__(self) -> None:
        self.t = T0

    def __call__(self) -> float:
        return self.t


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def state(clock: Clock) -> StateLayer:
    """A Redis of this test's own (fakeredis clients share one server unless told otherwise)."""
    redis = fakeredis.FakeAsyncRedis(server=fakeredis.FakeServer(), decode_responses=True)
    return StateLayer.create(redis, clock=clock)


@pytest.fixture
def settings() -> FollowUpSettings:
    return FollowUpSettings()


@pytest.fixture
def followup(state: StateLayer, settings: FollowUpSettings, clock: Clock) -> FollowUp:
    return FollowUp(state, settings, PARIS, clock)
