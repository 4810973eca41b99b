"""What every verb shares: the Verb base model, the option types (targets, sounds, names, keypad keys) and the
references a verb's options are checked against at load (Refs).

A *target* (where a branch goes) is the `id` of a step of the same flow, or `flow:OTHER` for the start of another
flow. A branch left out continues with the next step.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Collection, Iterable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Annotated, Any, ClassVar, Self

from pydantic import AfterValidator, BaseModel, BeforeValidator, ConfigDict, Field, model_validator

if TYPE_CHECKING:
    from callcontrol.routing.hotlines import HotlineRouting

FLOW_PREFIX = "flow:"
DTMF = "0123456789*#"
MEDIA_PREFIXES = ("sound:", "digits:", "number:", "characters:", "tone:", "recording:")
NAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_-]*$")

Path = tuple[str | int, ...]  # a key path relative to the verb
Problem = tuple[Path, str]  # (key path within the verb, what is wrong)


def _one_or_many(value: Any) -> Any:
    return [value] if isinstance(value, str) else value


def check_name(value: str) -> str:
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


def _int_as_str(value: Any) -> Any:
    return str(value) if isinstance(value, int) else value


Sounds = Annotated[list[str], BeforeValidator(_one_or_many), Field(min_length=1)]
Name = Annotated[str, BeforeValidator(_int_as_str), Field(min_length=1)]
Target = Annotated[str, BeforeValidator(_int_as_str), AfterValidator(_check_target)]


def dtmf(value: str, what: str) -> str:
    value = str(value)
    bad = sorted(set(value) - set(DTMF))
    if bad:
        raise ValueError(f"{what} must only hold keypad keys 0-9, * and #; not {''.join(bad)!r}")
    return value


@dataclass(frozen=True)
class Refs:
    """What a step's references are checked against at load (the whole configuration, as the loader knows it)."""

    file: str  # the flow file, for hints
    schedules: Collection[str]
    hotlines: Mapping[str, HotlineRouting]
    caller_lists: Collection[str]
    allowed_numbers: Collection[str]  # E.164 numbers this file's transfers may dial
    region: str  # the city's country, to read national numbers
    complete: bool = True  # False when a flow file is unreadable: caller lists it defines are unknown, not missing


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

    def problems(self, refs: Refs) -> list[Problem]:
        """What is wrong with this verb's references to the rest of the configuration (schedules, hotlines, ...)."""
        return []

    def resolved(self, refs: Refs) -> Self:
        """The verb as the runner needs it, once loaded (e.g. numbers in E.164)."""
        return self


def branch(name: str, target: str | None) -> list[tuple[Path, str]]:
    return [((name,), target)] if target else []


def close(word: str, choices: Iterable[str]) -> str:
    """A ' (did you mean ...?)' hint, or ''."""
    found = difflib.get_close_matches(word, list(choices), n=1)
    return f" (did you mean {found[0]!r}?)" if found else ""


def unknown(kind: str, name: Any, known: Iterable[str]) -> str:
    known = sorted(known)
    listing = ", ".join(known) if known else "none defined"
    return f"unknown {kind} {name!r}{close(str(name), known)}; known {kind}s: {listing}"
