"""Reading flow files (config/flows/*.yaml) into sources: the file's keys, caller lists, entries, each flow's
steps validated against the verbs' models. A mixin of the loader (flows/loader.py), which owns the state and
runs the whole-graph checks afterwards."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from pydantic import TypeAdapter, ValidationError

from callcontrol.flows.graph import Source
from callcontrol.flows.schema import Step, StepBase
from callcontrol.flows.verbs.base import NAME_RE, close, unknown
from callcontrol.flows.verbs.registry import VERBS
from callcontrol.numbers import normalise
from callcontrol.routing.hotlines import HOTLINES_FILE, HotlineRouting, read_hotline_routing
from callcontrol.yamlsource import ConfigIssue, KeyPath, YamlDoc, pydantic_issues

FILE_KEYS = ("entry", "allow_transfer_to", "caller_lists", "flows")
_STEP = TypeAdapter(Step)
_ALL_OPTIONS = sorted({name for spec in VERBS.values() for name in spec.model.model_fields} | {"else", "id"})
_BARE_VERBS = ("hangup",)
_EMPTY_FILE = (
    "this flow file defines nothing: give it flows: {main: [- play: ...]} and, in one file, entry: {inbound: main}"
    " (without an inbound flow every citizen's call is declined), or delete it"
)


class FlowFileReader:
    """What the loader gathers while reading (its attributes, set by the loader's __init__)."""

    issues: list[ConfigIssue]
    sources: dict[str, Source]
    entries: dict[str, tuple[str, YamlDoc, KeyPath]]
    caller_lists: dict[str, frozenset[str]]
    flow_names: set[str]
    region: str
    empty_reported: bool
    dir: Path
    files: list[str]
    given_hotlines: Mapping[str, HotlineRouting] | None

    def name(self, path: Path) -> str: ...

    def doc(self, path: Path) -> YamlDoc | None: ...

    def read_hotlines(self, schedules: set[str]) -> Mapping[str, HotlineRouting]:
        """The hotlines (parsed by routing/hotlines.py), each `schedule:` checked against schedules.yaml."""
        path = self.dir / HOTLINES_FILE
        hotlines = self.given_hotlines
        if hotlines is None:
            hotlines, issues = read_hotline_routing(self.dir, display_name=self.name(path))
            self.files.append(self.name(path))
            self.issues += issues
        unknown_schedules = [h for h in hotlines.values() if h.schedule is not None and h.schedule not in schedules]
        doc = self.doc(path) if unknown_schedules else None  # read again only to say on which line
        for hotline in unknown_schedules if doc is not None else ():
            at = ("hotlines", _raw_key(doc, hotline.id), "schedule")
            self.issues.append(doc.issue(at, unknown("schedule", hotline.schedule, schedules)))
        return hotlines

    # ------------------------------------------------------------------------------------------- checking

    def read_file(self, doc: YamlDoc) -> None:
        data = doc.data
        if data is not None and not isinstance(data, dict):
            self.issues.append(doc.issue((), "expected a mapping with flows: (and optionally entry:, ...)"))
            return
        data = data or {}
        unknown = [key for key in data if key not in FILE_KEYS]
        for key in unknown:
            self.issues.append(doc.issue((key,), _unknown_key(key, FILE_KEYS)))
        allowed = self.read_numbers(doc, data.get("allow_transfer_to"), ("allow_transfer_to",))
        self.read_caller_lists(doc, data.get("caller_lists"))
        self.read_entries(doc, data.get("entry"))
        flows = data.get("flows")
        if not flows:  # an empty main.yaml once declined every call: say so at the file
            if "flows" in data:
                self.issues.append(doc.issue(("flows",), f"no flow under flows:; {_EMPTY_FILE}"))
                self.empty_reported = True
            elif not unknown and not data.get("entry") and not data.get("caller_lists"):
                self.issues.append(doc.issue((), _EMPTY_FILE))
                self.empty_reported = True
            return
        if not isinstance(flows, dict):
            self.issues.append(doc.issue(("flows",), "expected flow ids mapped to lists of steps"))
            return
        self.flow_names.update(str(flow_id) for flow_id in flows)
        for flow_id, raw_steps in flows.items():
            self.read_flow(doc, str(flow_id), raw_steps, allowed)

    def read_numbers(self, doc: YamlDoc, raw: Any, path: KeyPath) -> frozenset[str]:
        if raw is None:
            return frozenset()
        if not isinstance(raw, list):
            self.issues.append(doc.issue(path, "expected a list of phone numbers"))
            return frozenset()
        numbers = set()
        for i, value in enumerate(raw):
            number = normalise(str(value), self.region)
            if number is None:
                self.issues.append(doc.issue((*path, i), f"{value!r} is not a phone number"))
            else:
                numbers.add(number)
        return frozenset(numbers)

    def read_caller_lists(self, doc: YamlDoc, raw: Any) -> None:
        if raw is None:
            return
        if not isinstance(raw, dict):
            self.issues.append(doc.issue(("caller_lists",), "expected list names mapped to lists of phone numbers"))
            return
        for name, numbers in raw.items():
            if name in self.caller_lists:
                self.issues.append(doc.issue(("caller_lists", name), f"caller list {name!r} is defined twice"))
            self.caller_lists[str(name)] = self.read_numbers(doc, numbers, ("caller_lists", name))

    def read_entries(self, doc: YamlDoc, raw: Any) -> None:
        if raw is None:
            return
        if not isinstance(raw, dict):
            self.issues.append(
                doc.issue(("entry",), "expected entry names mapped to flows, e.g. entry: {inbound: main}")
            )
            return
        for name, flow_id in raw.items():
            if name in self.entries:
                other = self.entries[name][1].file
                self.issues.append(doc.issue(("entry", name), f"entry {name!r} is already declared in {other}"))
                continue
            self.entries[str(name)] = (str(flow_id), doc, ("entry", name))

    def read_flow(self, doc: YamlDoc, flow_id: str, raw_steps: Any, allowed: frozenset[str]) -> None:
        path: KeyPath = ("flows", flow_id)
        if flow_id in self.sources:
            other = self.sources[flow_id].doc.file
            self.issues.append(doc.issue(path, f"flow {flow_id!r} is already defined in {other}; flow ids are unique"))
            return
        if not NAME_RE.match(flow_id):
            self.issues.append(doc.issue(path, f"{flow_id!r} is not a valid flow id: use letters, digits, - and _"))
        if not isinstance(raw_steps, list) or not raw_steps:
            self.issues.append(doc.issue(path, "expected a list of steps (- play: ..., - gather: ...)"))
            return
        raw_steps = [{verb: None} if verb in _BARE_VERBS else verb for verb in raw_steps]
        steps = [self.read_step(doc, (*path, i), raw) for i, raw in enumerate(raw_steps)]
        self.sources[flow_id] = Source(flow_id, doc, raw_steps, steps, allowed)

    def read_step(self, doc: YamlDoc, path: KeyPath, raw: Any) -> StepBase | None:
        if not isinstance(raw, dict):
            self.issues.append(doc.issue(path, f"a step is a verb with its options, e.g. '- play: ...'; got {raw!r}"))
            return None
        verbs = [k for k in raw if k in VERBS]
        others = [k for k in raw if k not in VERBS and k != "id"]
        if len(verbs) > 1:
            self.issues.append(doc.issue(path, f"one verb per step; this step has {', '.join(verbs)}"))
            return None
        if others:
            for key in others:
                hint = close(key, [*VERBS, "id"])
                self.issues.append(doc.issue((*path, key), f"unknown verb {key!r}{hint}; verbs: {', '.join(VERBS)}"))
            return None
        if not verbs:
            self.issues.append(doc.issue(path, f"step has no verb; use one of: {', '.join(VERBS)}"))
            return None
        try:
            return _STEP.validate_python(raw)
        except ValidationError as exc:
            self.issues += _clerk_issues(doc, exc, path)
            return None


def _clerk_issues(doc: YamlDoc, exc: ValidationError, prefix: KeyPath) -> list[ConfigIssue]:
    """pydantic's locations, with messages a city clerk can act on."""
    issues = []
    for err, issue in zip(exc.errors(), pydantic_issues(doc, exc, prefix=prefix), strict=True):
        message = issue.message
        if err["type"] == "extra_forbidden":
            key = err["loc"][-1]
            message = (
                f"unknown option {key!r}{close(str(key), _ALL_OPTIONS)}; see docs/flows.md for this verb's options"
            )
        elif err["type"] == "model_type":
            message = "expected options as a mapping (key: value); see docs/flows.md"
        elif err["type"] == "value_error":
            message = message.removeprefix("Value error, ")
        issues.append(ConfigIssue(issue.file, issue.line, issue.path, message))
    return issues


def _unknown_key(key: Any, allowed: tuple[str, ...]) -> str:
    return f"unknown key {key!r}{close(str(key), allowed)}; allowed: {', '.join(allowed)}"


def _raw_key(doc: YamlDoc, hotline_id: str) -> Any:
    """The key as YAML read it (`123:` is the integer 123), to find its line."""
    data = _hotlines_mapping(doc)
    return next((key for key in data if str(key) == hotline_id), hotline_id)


def _hotlines_mapping(doc: YamlDoc) -> dict[Any, Any]:
    value = doc.data.get("hotlines") if isinstance(doc.data, dict) else None
    return value if isinstance(value, dict) else {}
