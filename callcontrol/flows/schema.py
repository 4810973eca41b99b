"""A step of a call flow: one verb of the registry (flows/verbs/registry.py), plus an optional `id`.

A step in YAML is a mapping with exactly one verb key, e.g. `- gather: {prompt: callcontrol/menu, on: {1: civil}}`,
or for verbs without options a bare word (`- hangup`). Verbs with one main value accept it directly
(`- goto: main-menu`, `- enqueue: etat-civil`, `- play: callcontrol/welcome`, `- pause: 1`).

The step models (PlayStep, GatherStep, ...) and the Step union are built from the registry: a new verb needs no
line here. Cross-references (targets, hotlines, schedules, numbers, sounds) are checked by loader.py, which knows
the whole configuration.
"""

from __future__ import annotations

from functools import reduce
from operator import or_
from typing import Annotated, Any, ClassVar

from pydantic import BaseModel, BeforeValidator, ConfigDict, Discriminator, Tag, create_model, field_validator

from callcontrol.flows.verbs.base import Verb, check_name
from callcontrol.flows.verbs.registry import VERBS, VerbSpec


class StepBase(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    verb_name: ClassVar[str]
    id: Annotated[str, BeforeValidator(lambda v: str(v) if isinstance(v, int) else v)] | None = None

    @field_validator("id")
    @classmethod
    def _id_name(cls, value: str | None) -> str | None:
        return value if value is None else check_name(value)

    @property
    def verb(self) -> Verb:
        return getattr(self, self.verb_name)


def _step_model(spec: VerbSpec) -> type[StepBase]:
    model = create_model(  # e.g. class PlayStep(StepBase): play: Play
        f"{spec.model.__name__}Step", __base__=StepBase, __module__=__name__, **{spec.name: (spec.model, ...)}
    )
    model.verb_name = spec.name
    return model


STEPS: dict[str, type[StepBase]] = {name: _step_model(spec) for name, spec in VERBS.items()}


def __getattr__(name: str) -> type[StepBase]:
    """PlayStep, GatherStep, ...: each verb's step model, by name."""
    for model in STEPS.values():
        if model.__name__ == name:
            return model
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


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
    reduce(or_, [Annotated[model, Tag(f"verb[{name}]")] for name, model in STEPS.items()]),  # type: ignore[valid-type]
    Discriminator(
        _tag,
        custom_error_type="step_verb",
        custom_error_message="a step needs exactly one verb: " + ", ".join(VERBS),
    ),
]
