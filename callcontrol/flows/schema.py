"""The verbs of a call flow: one pydantic model per verb, one step = one verb (plus an optional `id`).

A step in YAML is a mapping with exactly one verb key, e.g. `- gather: {prompt: callcontrol/menu, on: {1: civil}}`,
or for verbs without options a bare word (`- hangup`). Verbs with one main value accept it directly
(`- goto: main-menu`, `- enqueue: etat-civil`, `- play: callcontrol/welcome`, `- pause: 1`).

A *target* (where a branch goes) is the `id` of a step of the same flow, or `flow:OTHER` for the start of another
flow. A branch left out continues with the next step. Cross-references (targets, hotlines, schedules, numbers,
sounds) are checked by loader.py, which knows the whole configuration.
"""

from __future__ import annotations

import datetime as dt
import re
from typing import Annotated, Any, ClassVar, Literal

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Discriminator,
    Field,
    Tag,
    field_validator,
    model_validator,
)

FLOW_PREFIX = "flow:"
DTMF = "0123456789*#"
MEDIA_PREFIXES = ("sound:", "digits:", "number:", "characters:", "tone:", "recording:")
NAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_-]*$")

# What the Enqueuer may answer; `enqueue.on` keys must be among them (a typo would silently never match).
ENQUEUE_OUTCOMES = ("answered", "closed", "timeout", "full", "unavailable", "abandoned")

Path = tuple[str | int, ...]  # a key path relative to the step


def _one_or_many(value: Any) -> Any:
    return [value] if isinstance(value, str) else value


def _check_name(value: str) -> str:
    if not NAME_RE.match(value):
        raise ValueError(f"{value!r} is not a valid name: use letters, digits, '-' and '_' (no spaces)")
    return value


def _check_target(value: str) -> str:
    name = value.removeprefix(FLOW_PREFIX)
    if not NAME_RE.match(name):
        raise ValueError(
            f"{value!r} is not a valid target: use a step id (e.g. main-menu) or flow:ID (e.g. flow:closed)"
        )
    return value


Sounds = Annotated[list[str], BeforeValidator(_one_or_many), Field(min_length=1)]
Name = Annotated[str, BeforeValidator(lambda v: str(v) if isinstance(v, int) else v), Field(min_length=1)]
Target = Annotated[str, BeforeValidator(lambda v: str(v) if isinstance(v, int) else v), AfterValidator(_check_target)]


def _digits_keys(value: Any) -> Any:
    # YAML reads `1:` as the integer 1; menus speak in digit strings.
    return {str(k): v for k, v in value.items()} if isinstance(value, dict) else value


class Verb(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    waits: ClassVar[bool] = False  # does running it take the caller's time (so a cycle through it cannot spin)?
    shorthand: ClassVar[str | None] = None  # the option a bare value stands for (`goto: x` = `goto: {target: x}`)

    @model_validator(mode="before")
    @classmethod
    def _expand(cls, value: Any) -> Any:
        if value is None:
            return {}
        if cls.shorthand and not isinstance(value, dict):
            return {cls.shorthand: value}
        if isinstance(value, dict) and True in value:
            # YAML 1.1 reads the key `on:` as the boolean true (the "Norway problem"); menus mean the word.
            return {("on" if key is True else key): v for key, v in value.items()}
        return value

    def branches(self) -> list[tuple[Path, str]]:
        """(key path within the verb, target) of every branch this verb may take."""
        return []

    def falls_through(self) -> bool:
        """Can the call continue with the next step after this verb?"""
        return True

    def sound_refs(self) -> list[tuple[Path, str]]:
        """(key path within the verb, media) of every sound this verb may play."""
        return []


def _branch(name: str, target: str | None) -> list[tuple[Path, str]]:
    return [((name,), target)] if target else []


class Play(Verb):
    waits = True
    shorthand = "sounds"
    sounds: Sounds
    language: str | None = None
    interruptible: Annotated[str, BeforeValidator(str)] = ""  # keys that cut the prompt short (kept for the gather)

    @field_validator("interruptible")
    @classmethod
    def _interrupt_keys(cls, value: str) -> str:
        return _dtmf(value, "interruptible")

    def sound_refs(self) -> list[tuple[Path, str]]:
        return [(("sounds", i), s) for i, s in enumerate(self.sounds)]


def _dtmf(value: str, what: str) -> str:
    value = str(value)
    bad = sorted(set(value) - set(DTMF))
    if bad:
        raise ValueError(f"{what} must only hold keypad keys 0-9, * and #; not {''.join(bad)!r}")
    return value


class Say(Verb):
    waits = True
    digits: Annotated[str, BeforeValidator(str)] | None = None
    number: int | None = None
    date: dt.date | None = None
    with_year: bool = False

    @model_validator(mode="after")
    def _exactly_one(self) -> Say:
        given = [k for k in ("digits", "number", "date") if getattr(self, k) is not None]
        if len(given) != 1:
            raise ValueError("say needs exactly one of digits, number or date")
        if self.digits is not None and not self.digits.isdigit():
            raise ValueError(f"digits must be digits only, not {self.digits!r}")
        return self

    def media(self) -> list[str]:
        if self.digits is not None:
            return [f"digits:{self.digits}"]
        if self.number is not None:
            return [f"number:{self.number}"]
        assert self.date is not None
        media = [f"number:{self.date.day}", f"sound:digits/mon-{self.date.month - 1}"]
        return [*media, f"number:{self.date.year}"] if self.with_year else media


class Gather(Verb):
    waits = True
    prompt: Sounds
    max_digits: int = Field(default=1, ge=1, le=20)
    terminator: Literal["#", "*", ""] = "#"
    timeout: float = Field(default=5.0, gt=0, le=60)  # seconds to wait for the first (and each further) digit
    retries: int = Field(default=2, ge=0, le=10)  # replays after the first attempt
    on: Annotated[dict[str, Target], BeforeValidator(_digits_keys)] = Field(default_factory=dict)
    invalid_sound: Sounds | None = None  # played before the menu is replayed after a wrong key
    invalid: Target | None = None  # after the retries, when the last key was wrong (default: no_input)
    no_input: Target | None = None  # after the retries, when nothing was pressed (default: next step)

    @model_validator(mode="after")
    def _keys(self) -> Gather:
        for key in self.on:
            if not key or set(key) - set(DTMF):
                raise ValueError(f"menu key {key!r} must be keypad keys (0-9, * or #)")
            if len(key) > self.max_digits:
                raise ValueError(f"menu key {key!r} is longer than max_digits ({self.max_digits})")
        return self

    def branches(self) -> list[tuple[Path, str]]:
        out = [(("on", k), t) for k, t in self.on.items()]
        return out + _branch("invalid", self.invalid) + _branch("no_input", self.no_input)

    def sound_refs(self) -> list[tuple[Path, str]]:
        out = [(("prompt", i), s) for i, s in enumerate(self.prompt)]
        return out + [(("invalid_sound", i), s) for i, s in enumerate(self.invalid_sound or [])]


class Goto(Verb):
    shorthand = "target"
    target: Target

    def falls_through(self) -> bool:
        return False

    def branches(self) -> list[tuple[Path, str]]:
        return [((), self.target)]


class Schedule(Verb):
    shorthand = "name"
    name: Name
    open: Target | None = None
    closed: Target | None = None
    holiday: Target | None = None  # default: closed
    closure: Target | None = None  # a local closure from schedules.yaml; default: closed
    manual_closed: Target | None = None  # the "closed now" switch; default: closed

    def branches(self) -> list[tuple[Path, str]]:
        kinds = ("open", "closed", "holiday", "closure", "manual_closed")
        return [b for k in kinds for b in _branch(k, getattr(self, k))]

    def falls_through(self) -> bool:
        return self.open is None or self.closed is None

    def target_for(self, kind: str) -> str | None:
        target = getattr(self, kind)
        if target is None and kind in ("holiday", "closure", "manual_closed"):
            return self.closed
        return target


class WhenCaller(Verb):
    withheld: Target | None = None
    known: dict[str, Target] = Field(default_factory=dict)  # caller list name or E.164 number -> target
    else_: Target | None = Field(default=None, alias="else")

    def branches(self) -> list[tuple[Path, str]]:
        out = _branch("withheld", self.withheld) + [(("known", k), t) for k, t in self.known.items()]
        return out + _branch("else", self.else_)

    def falls_through(self) -> bool:
        return self.else_ is None


class Language(Verb):
    shorthand = "code"
    code: Annotated[str, Field(pattern=r"^[a-z]{2}(_[A-Z]{2})?$")]


class Record(Verb):
    waits = True
    shorthand = "max_seconds"
    max_seconds: int = Field(default=120, ge=1, le=600)
    beep: bool = True
    silence_seconds: int = Field(default=5, ge=1, le=60)


class Transfer(Verb):
    shorthand = "number"
    number: Annotated[str, BeforeValidator(str)]
    timeout: float = Field(default=30.0, gt=0, le=120)
    no_answer: Target | None = None  # default: next step

    def branches(self) -> list[tuple[Path, str]]:
        return _branch("no_answer", self.no_answer)


class Enqueue(Verb):
    shorthand = "hotline"
    hotline: Name
    on: dict[str, Target] = Field(default_factory=dict)  # outcome -> target; "answered" defaults to the end

    @field_validator("on")
    @classmethod
    def _outcomes(cls, value: dict[str, str]) -> dict[str, str]:
        for outcome in value:
            if outcome not in ENQUEUE_OUTCOMES:
                raise ValueError(f"unknown outcome {outcome!r}; use one of: {', '.join(ENQUEUE_OUTCOMES)}")
        return value

    def branches(self) -> list[tuple[Path, str]]:
        return [(("on", k), t) for k, t in self.on.items()]


class Pause(Verb):
    waits = True
    shorthand = "seconds"
    seconds: float = Field(gt=0, le=60)


class Hangup(Verb):
    shorthand = "reason"
    reason: str = "normal"

    def falls_through(self) -> bool:
        return False


VERBS: dict[str, type[Verb]] = {
    "play": Play,
    "say": Say,
    "gather": Gather,
    "goto": Goto,
    "schedule": Schedule,
    "when_caller": WhenCaller,
    "language": Language,
    "record": Record,
    "transfer": Transfer,
    "enqueue": Enqueue,
    "pause": Pause,
    "hangup": Hangup,
}


class StepBase(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    verb_name: ClassVar[str]
    id: Annotated[str, BeforeValidator(lambda v: str(v) if isinstance(v, int) else v)] | None = None

    @field_validator("id")
    @classmethod
    def _id_name(cls, value: str | None) -> str | None:
        return value if value is None else _check_name(value)

    @property
    def verb(self) -> Verb:
        return getattr(self, self.verb_name)


class PlayStep(StepBase):
    verb_name = "play"
    play: Play


class SayStep(StepBase):
    verb_name = "say"
    say: Say


class GatherStep(StepBase):
    verb_name = "gather"
    gather: Gather


class GotoStep(StepBase):
    verb_name = "goto"
    goto: Goto


class ScheduleStep(StepBase):
    verb_name = "schedule"
    schedule: Schedule


class WhenCallerStep(StepBase):
    verb_name = "when_caller"
    when_caller: WhenCaller


class LanguageStep(StepBase):
    verb_name = "language"
    language: Language


class RecordStep(StepBase):
    verb_name = "record"
    record: Record


class TransferStep(StepBase):
    verb_name = "transfer"
    transfer: Transfer


class EnqueueStep(StepBase):
    verb_name = "enqueue"
    enqueue: Enqueue


class PauseStep(StepBase):
    verb_name = "pause"
    pause: Pause


class HangupStep(StepBase):
    verb_name = "hangup"
    hangup: Hangup


def verb_key(value: Any) -> str | None:
    """The verb of a raw step (a mapping with exactly one verb key), else None."""
    if isinstance(value, StepBase):
        return value.verb_name
    if isinstance(value, dict):
        keys = [k for k in value if k in VERBS]
        if len(keys) == 1:
            return keys[0]
    return None


def _tag(value: Any) -> str | None:
    # The tag contains "[", so yamlsource.pydantic_issues leaves it out of the reported key path.
    verb = verb_key(value)
    return f"verb[{verb}]" if verb else None


Step = Annotated[
    Annotated[PlayStep, Tag("verb[play]")]
    | Annotated[SayStep, Tag("verb[say]")]
    | Annotated[GatherStep, Tag("verb[gather]")]
    | Annotated[GotoStep, Tag("verb[goto]")]
    | Annotated[ScheduleStep, Tag("verb[schedule]")]
    | Annotated[WhenCallerStep, Tag("verb[when_caller]")]
    | Annotated[LanguageStep, Tag("verb[language]")]
    | Annotated[RecordStep, Tag("verb[record]")]
    | Annotated[TransferStep, Tag("verb[transfer]")]
    | Annotated[EnqueueStep, Tag("verb[enqueue]")]
    | Annotated[PauseStep, Tag("verb[pause]")]
    | Annotated[HangupStep, Tag("verb[hangup]")],
    Discriminator(
        _tag,
        custom_error_type="step_verb",
        custom_error_message="a step needs exactly one verb: " + ", ".join(VERBS),
    ),
]
