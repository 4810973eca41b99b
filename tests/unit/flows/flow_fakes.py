"""Test doubles for the flow runner: a scripted call on a virtual clock, a recording enqueuer, manual closures."""

from __future__ import annotations

import datetime as dt
import shutil
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from callcontrol.calls.errors import CallEnded
from callcontrol.calls.port import PathStep, RecordingResult
from callcontrol.config import CitySettings, Settings

PARIS = ZoneInfo("Europe/Paris")
FIXTURES = Path(__file__).parent / "fixtures"
REPO = Path(__file__).resolve().parents[3]


def paris(*args: int) -> dt.datetime:
    return dt.datetime(*args, tzinfo=PARIS)


MONDAY_10 = paris(2026, 3, 2, 10, 0)  # an ordinary working morning


def settings(**city: Any) -> Settings:
    return Settings(city=CitySettings(name="Testville", public_number="+33556000000", **city))


class FakeCall:
    """A citizen who presses `keys` in order; None = stays silent for one read_digit timeout. Time is virtual."""

    def __init__(
        self,
        keys: Sequence[str | None] = (),
        *,
        now: dt.datetime = MONDAY_10,
        caller: str | None = "+33612345678",
        transfer_answered: bool = False,
        leaves_after: int = 200,
    ):
        self.call_id = "call-1"
        self.caller = caller
        self.dialled = "0556000000"
        self.language = "fr"
        self.path: list[PathStep] = []
        self.keys = list(keys)
        self.clock = now
        self.played: list[tuple[str, str]] = []  # (language, media)
        self.hung_up: str | None = None
        self.transfers: list[str] = []
        self.read_timeouts: list[float] = []
        self.transfer_answered = transfer_answered
        self.ops_left = leaves_after  # the caller hangs up after this many operations

    def _op(self) -> None:
        self.ops_left -= 1
        if self.hung_up is not None or self.ops_left < 0:
            raise CallEnded()

    def now(self) -> dt.datetime:
        return self.clock

    async def play(self, media: Sequence[str], *, interrupt: str = "") -> str | None:
        self._op()
        for item in media:
            self.played.append((self.language, item))
            if interrupt and self.keys and self.keys[0] is not None and self.keys[0] in interrupt:
                return self.keys.pop(0)
            self.clock += dt.timedelta(seconds=2)
        return None

    async def read_digit(self, timeout: float) -> str | None:
        self._op()
        self.read_timeouts.append(timeout)
        key = self.keys.pop(0) if self.keys else None
        if key is None:
            self.clock += dt.timedelta(seconds=timeout)
        return key

    async def record(self, *, max_seconds: int, beep: bool = True, silence_seconds: int = 5) -> RecordingResult:
        self._op()
        self.clock += dt.timedelta(seconds=10)
        return RecordingResult(name=f"rec-{max_seconds}-{beep}", duration=10.0, ended_by="silence")

    async def transfer(self, number: str, *, timeout: float = 30.0) -> bool:
        self._op()
        self.transfers.append(number)
        return self.transfer_answered

    async def hangup(self, reason: str = "normal") -> None:
        self._op()
        self.hung_up = reason

    def note(self, step: str, **detail: Any) -> None:
        self.path.append(PathStep(at=self.clock.timestamp(), step=step, detail=detail))

    @property
    def steps(self) -> list[str]:
        return [p.step for p in self.path]

    def sounds(self, language: str | None = None) -> list[str]:
        return [m for lang, m in self.played if language is None or lang == language]


@dataclass
class FakeEnqueuer:
    outcomes: dict[str, str] = field(default_factory=dict)  # hotline -> outcome (default "answered")
    calls: list[tuple[str, str]] = field(default_factory=list)  # (hotline, language at the time)

    async def enqueue(self, call: Any, hotline_id: str) -> str:
        self.calls.append((hotline_id, call.language))
        return self.outcomes.get(hotline_id, "answered")


@dataclass(frozen=True)
class Closed:
    message_sound: str | None = None
    reason: str = "closed by staff"


@dataclass
class FakeClosures:
    closed: dict[str, Closed] = field(default_factory=dict)
    fail: bool = False

    async def get_closed(self, scope: str) -> Closed | None:
        if self.fail:
            raise ConnectionError("redis down")
        return self.closed.get(scope)


FIXTURE_SOUNDS = {
    "callcontrol/welcome",
    "callcontrol/main-menu",
    "callcontrol/invalid-choice",
    "callcontrol/goodbye",
    "vm-intro",
}


def make_config(tmp: Path, *flow_files: str, schedules: str | None = None, texts: dict[str, str] | None = None) -> Path:
    """A config/ directory: the base schedules and hotlines, plus the named fixture flow files (bad/ or good/)
    and `texts` ({"flows/x.yaml": "...", "schedules.yaml": "..."}) written as given."""
    config = tmp / "config"
    (config / "flows").mkdir(parents=True)
    for base in (FIXTURES / "base").iterdir():
        shutil.copy(base, config / base.name)
    if schedules:
        shutil.copy(FIXTURES / "bad" / schedules, config / "schedules.yaml")
    for name in flow_files:
        source = FIXTURES / "bad" / name
        shutil.copy(source if source.exists() else FIXTURES / "good" / name, config / "flows" / name)
    for name, text in (texts or {}).items():
        (config / name).write_text(text, encoding="utf-8")
    return config


def demo_sounds() -> set[str]:
    """What Asterisk would list: our rendered prompts (callcontrol/NAME) and a few core sounds."""
    names = set()
    for language in ("fr", "en"):
        for line in (REPO / "asterisk-conf" / "prompts" / f"{language}.txt").read_text(encoding="utf-8").splitlines():
            if "|" in line and not line.startswith("#"):
                names.add("callcontrol/" + line.split("|", 1)[0].strip())
    return names | {"vm-intro", "digits/1", "beep"}
