"""Load config/flows/*.yaml, config/schedules.yaml and config/hotlines.yaml, and validate the whole call graph
before the first call: every problem is reported at once, with file, line and key path.

A flow file:

    entry: {inbound: main}              # entry name (the Stasis argument) -> flow; `inbound` must exist somewhere
    allow_transfer_to: ["+33612000001"] # the only external numbers `transfer` may dial (toll-fraud guard)
    caller_lists: {elus: ["+33612000002"]}
    flows:
      main:
        - play: callcontrol/welcome
        - id: main-menu
          gather: {prompt: callcontrol/main-menu, on: {1: flow:etat-civil}}
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pydantic import TypeAdapter, ValidationError

from callcontrol.config import Settings
from callcontrol.flows.schedules import WeeklySchedule, parse_schedules
from callcontrol.flows.schema import Step, StepBase
from callcontrol.flows.verbs.base import FLOW_PREFIX, MEDIA_PREFIXES, NAME_RE, Refs, close, unknown
from callcontrol.flows.verbs.registry import VERBS
from callcontrol.numbers import normalise
from callcontrol.routing.hotlines import HOTLINES_FILE, HotlineRouting, read_hotline_routing
from callcontrol.yamlsource import ConfigError, ConfigIssue, KeyPath, YamlDoc, load_yaml, pydantic_issues

FILE_KEYS = ("entry", "allow_transfer_to", "caller_lists", "flows")
INBOUND = "inbound"
_STEP = TypeAdapter(Step)
_ALL_OPTIONS = sorted({name for spec in VERBS.values() for name in spec.model.model_fields} | {"else", "id"})
_BARE_VERBS = ("hangup",)

Node = tuple[str, int]  # (flow id, step index)


@dataclass(frozen=True)
class Flow:
    id: str
    file: str
    steps: tuple[StepBase, ...]
    index: dict[str, int]  # step id -> position

    def label(self, position: int) -> str:
        """How a step is named in paths and logs: its id, else flow[position]."""
        return self.steps[position].id or f"{self.id}[{position}]"


@dataclass(frozen=True)
class Flows:
    """The validated flows and what they refer to; immutable, shared by every call."""

    flows: dict[str, Flow]
    entries: dict[str, str]  # entry name -> flow id
    schedules: dict[str, WeeklySchedule] = field(default_factory=dict)
    hotlines: Mapping[str, HotlineRouting] = field(default_factory=dict)
    allowed_numbers: frozenset[str] = frozenset()
    caller_lists: dict[str, frozenset[str]] = field(default_factory=dict)

    def resolve(self, flow_id: str, target: str) -> Node:
        """Where `target` (a step id of `flow_id`, or flow:ID) leads."""
        if target.startswith(FLOW_PREFIX):
            return target.removeprefix(FLOW_PREFIX), 0
        return flow_id, self.flows[flow_id].index[target]


@dataclass
class _Source:
    """A flow as read, before the graph checks; `steps` holds None where a step was invalid."""

    id: str
    doc: YamlDoc
    raw: list[Any]
    steps: list[StepBase | None]
    allowed: frozenset[str]

    def path(self, *rest: str | int) -> KeyPath:
        return ("flows", self.id, *rest)

    def step_ids(self) -> dict[str, int]:
        ids: dict[str, int] = {}
        for i, raw in enumerate(self.raw):
            if isinstance(raw, dict) and raw.get("id") is not None:
                ids.setdefault(str(raw["id"]), i)
        return ids


def load_flows(
    config_dir: Path,
    settings: Settings,
    *,
    hotlines: Mapping[str, HotlineRouting] | None = None,
    known_sounds: set[str] | None = None,
) -> Flows:
    """Load and validate every flow with its schedules; raise ConfigError listing every problem.

    hotlines: config/hotlines.yaml as parsed by routing/hotlines.py (configset.py reads it first, and reports its
    own problems); None reads it here with that same parser, its problems reported with the flows'.
    The hotlines' schedule names and the flows' enqueue steps are checked against them.
    known_sounds: the sound ids Asterisk has (ARI GET /sounds), e.g. {"callcontrol/welcome", "digits/1"};
    None skips the sound check (no Asterisk at hand).
    """
    return _Loader(config_dir, settings, hotlines, known_sounds).load()


class _Loader:
    def __init__(
        self,
        config_dir: Path,
        settings: Settings,
        hotlines: Mapping[str, HotlineRouting] | None,
        known_sounds: set[str] | None,
    ):
        self.dir = config_dir
        self.settings = settings
        self.given_hotlines = hotlines
        self.known_sounds = known_sounds
        self.issues: list[ConfigIssue] = []
        self.sources: dict[str, _Source] = {}
        self.entries: dict[str, tuple[str, YamlDoc, KeyPath]] = {}
        self.caller_lists: dict[str, frozenset[str]] = {}
        self.region = settings.city.country
        self.files: list[str] = []  # in the order read, to report issues file by file
        self.unreadable: set[Path] = set()  # reported once; what they define is unknown, so not blamed elsewhere
        self.partial_flows = False  # a flow file is unreadable: its flows, entries and caller lists are unknown
        self.flow_names: set[str] = set()  # every flow id written, valid or not: a broken flow is not also unknown
        self.flow_docs: list[YamlDoc] = []
        self.empty_reported = False  # a flow file defining nothing was reported (its message says what to write)

    def name(self, path: Path) -> str:
        """Every message spells a file from the configuration directory as it was given (config/flows/x.yaml)."""
        return str(path)

    def doc(self, path: Path) -> YamlDoc | None:
        self.files.append(self.name(path))
        try:
            return load_yaml(path, display_name=self.name(path))
        except ConfigError as exc:
            self.issues += exc.issues
            self.unreadable.add(path)
            return None

    # ------------------------------------------------------------------------------------------- reading

    def load(self) -> Flows:
        schedules, schedule_doc = self.read_schedules()
        # Names of schedules with problems of their own still count as defined: one mistake, one message.
        schedule_names = set(schedules) | set(_mapping(schedule_doc.data if schedule_doc else None, "schedules"))
        if self.dir / "schedules.yaml" in self.unreadable:
            schedule_names = _AnyName()
        hotlines = self.read_hotlines(schedule_names)
        hotline_names = _AnyName() if self.dir / "hotlines.yaml" in self.unreadable else hotlines
        files = sorted((self.dir / "flows").glob("*.yaml")) + sorted((self.dir / "flows").glob("*.yml"))
        if not files:
            self.issues.append(ConfigIssue(self.name(self.dir / "flows"), None, "", "no flow files (*.yaml) found"))
        for path in files:
            doc = self.doc(path)
            if doc is not None:
                self.flow_docs.append(doc)
                self.read_file(doc)
        self.partial_flows = any(path in self.unreadable for path in files)
        if files and not (self.empty_reported and not self.flow_names):  # the empty files' messages say it all
            self.check_entries()
        for source in self.sources.values():
            self.check_steps(source, schedule_names, hotline_names)  # type: ignore[arg-type]  # _AnyName: any
        if schedule_doc is not None:
            self.check_schedule_sounds(schedule_doc)
        if not self.partial_flows:  # an entry or goto in the unreadable file may lead to any flow
            self.check_reachable()
        self.check_spin()
        if self.issues:
            raise ConfigError(_in_file_order(self.issues, self.files))
        flows: dict[str, Flow] = {}
        for s in self.sources.values():
            refs = self.refs(s, schedule_names, hotlines)
            flows[s.id] = Flow(
                s.id, s.doc.file, tuple(self.final(st, refs) for st in s.steps if st is not None), s.step_ids()
            )
        allowed = frozenset(n for s in self.sources.values() for n in s.allowed)
        return Flows(
            flows=flows,
            entries={name: flow for name, (flow, _, _) in self.entries.items()},
            schedules=schedules,
            hotlines=hotlines,
            allowed_numbers=allowed | self.settings_allowed(),
            caller_lists=self.caller_lists,
        )

    def final(self, step: StepBase, refs: Refs) -> StepBase:
        """The step as the runner needs it (e.g. transfer numbers in E.164, like the allow-list)."""
        verb = step.verb.resolved(refs)
        return step if verb is step.verb else step.model_copy(update={step.verb_name: verb})

    def settings_allowed(self) -> frozenset[str]:
        # Numbers allowed for every flow file; `city.transfer_allow` is a proposed Settings field (see docs/flows.md).
        raw = getattr(self.settings.city, "transfer_allow", None) or ()
        return frozenset(n for n in (normalise(str(x), self.region) for x in raw) if n)

    def read_schedules(self) -> tuple[dict[str, WeeklySchedule], YamlDoc | None]:
        path = self.dir / "schedules.yaml"
        if not path.exists():
            return {}, None
        doc = self.doc(path)
        if doc is None:
            return {}, None
        schedules, issues = parse_schedules(doc, self.settings)
        self.issues += issues
        return schedules, doc

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
        self.sources[flow_id] = _Source(flow_id, doc, raw_steps, steps, allowed)

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

    # ------------------------------------------------------------------------------------------- checking

    def check_entries(self) -> None:
        if self.partial_flows:
            return  # the unreadable file may declare the entries, or define the flows they name
        for flow_id, doc, path in self.entries.values():
            if flow_id not in self.flow_names:
                self.issues.append(doc.issue(path, unknown("flow", flow_id, self.sources)))
        if INBOUND not in self.entries:
            message = "no flow takes incoming calls: declare entry: {inbound: FLOW} in one flow file"
            first = next(iter(self.sources.values())).doc if self.sources else self.flow_docs[0]
            self.issues.append(first.issue(("entry",), message))

    def refs(self, source: _Source, schedules: set[str], hotlines: Mapping[str, HotlineRouting]) -> Refs:
        allowed = source.allowed | self.settings_allowed()
        complete = not self.partial_flows
        return Refs(source.doc.file, schedules, hotlines, self.caller_lists, allowed, self.region, complete=complete)

    def check_steps(self, source: _Source, schedules: set[str], hotlines: Mapping[str, HotlineRouting]) -> None:
        fail = self.issues.append
        refs = self.refs(source, schedules, hotlines)
        doc = source.doc
        ids = source.step_ids()
        for i, raw in enumerate(source.raw):
            raw_id = raw.get("id") if isinstance(raw, dict) else None
            if raw_id is not None and ids.get(str(raw_id)) != i:
                fail(doc.issue(source.path(i, "id"), f"step id {raw_id!r} is used twice in flow {source.id!r}"))
        for i, step in enumerate(source.steps):
            if step is None:
                continue
            verb = step.verb
            at = source.path(i, step.verb_name)
            for rel, target in verb.branches():
                message = self.target_problem(source, target, ids)
                if message:
                    fail(doc.issue((*at, *rel), message))
            for rel, message in verb.problems(refs):
                fail(doc.issue((*at, *rel), message))
            for rel, media in verb.sound_refs():
                message = self.sound_problem(media)
                if message:
                    fail(doc.issue((*at, *rel), message))

    def target_problem(self, source: _Source, target: str, ids: dict[str, int]) -> str | None:
        if target.startswith(FLOW_PREFIX):
            flow_id = target.removeprefix(FLOW_PREFIX)
            if flow_id in self.flow_names or self.partial_flows:  # partial: it may be in the unreadable file
                return None
            return unknown("flow", flow_id, self.sources)
        if target in ids:
            return None
        if not ids:
            return f"unknown step {target!r}; no step of flow {source.id!r} has an id (add id: {target} to one)"
        hint = close(target, ids)
        return f"unknown step {target!r}{hint}; known steps: {', '.join(ids)}"

    def sound_problem(self, media: str) -> str | None:
        kind, sep, name = media.partition(":")
        if not sep:
            kind, name = "sound", media
        elif f"{kind}:" not in MEDIA_PREFIXES:
            return f"{media!r}: unknown media kind {kind!r}; use a sound name such as callcontrol/welcome"
        if kind != "sound" or self.known_sounds is None or name in self.known_sounds:
            return None
        hint = close(name, self.known_sounds)
        return f"sound {name!r} is not installed in Asterisk{hint}"

    def check_schedule_sounds(self, doc: YamlDoc) -> None:
        data = doc.data.get("schedules") if isinstance(doc.data, dict) else None
        for name, body in (data or {}).items():
            closures = body.get("closures") if isinstance(body, dict) else None
            for i, closure in enumerate(closures or []):
                if isinstance(closure, dict) and closure.get("message"):
                    message = self.sound_problem(str(closure["message"]))
                    if message:
                        self.issues.append(doc.issue(("schedules", name, "closures", i, "message"), message))

    def successors(self, node: Node) -> list[Node]:
        """Where the call may go after step `node` (targets that do not resolve are reported elsewhere)."""
        flow_id, i = node
        source = self.sources[flow_id]
        verb = source.steps[i].verb  # type: ignore[union-attr]  # only asked about valid steps
        ids = source.step_ids()
        out = []
        for _, target in verb.branches():
            if target.startswith(FLOW_PREFIX) and target.removeprefix(FLOW_PREFIX) in self.sources:
                out.append((target.removeprefix(FLOW_PREFIX), 0))
            elif target in ids and source.steps[ids[target]] is not None:
                out.append((flow_id, ids[target]))
        if verb.falls_through() and i + 1 < len(source.steps):
            out.append((flow_id, i + 1))
        return out

    def check_reachable(self) -> None:
        seen = {flow_id for flow_id, _, _ in self.entries.values() if flow_id in self.sources}
        todo = list(seen)
        while todo:
            source = self.sources[todo.pop()]
            for step in source.steps:
                for _, target in step.verb.branches() if step is not None else ():
                    flow_id = target.removeprefix(FLOW_PREFIX)
                    if target.startswith(FLOW_PREFIX) and flow_id in self.sources and flow_id not in seen:
                        seen.add(flow_id)
                        todo.append(flow_id)
        entries = ", ".join(f"{name} -> {flow}" for name, (flow, _, _) in self.entries.items())
        for flow_id, source in self.sources.items():
            if flow_id not in seen:
                self.issues.append(
                    source.doc.issue(
                        source.path(),
                        f"flow {flow_id!r} is unreachable: no entry and no goto/branch leads to it"
                        f" (entries: {entries}); use it as a flow:{flow_id} target or remove it",
                    )
                )

    def check_spin(self) -> None:
        """A cycle of steps none of which waits for the caller would spin the CPU: report each one once."""
        instant = [
            (flow_id, i)
            for flow_id, source in self.sources.items()
            for i, step in enumerate(source.steps)
            if step is not None and not step.verb.waits
        ]
        instant_set = set(instant)
        reach: dict[Node, set[Node]] = {}
        for node in instant:
            seen: set[Node] = set()
            todo = [n for n in self.successors(node) if n in instant_set]
            while todo:
                current = todo.pop()
                if current not in seen:
                    seen.add(current)
                    todo += [n for n in self.successors(current) if n in instant_set]
            reach[node] = seen
        reported: set[Node] = set()
        for node in instant:
            if node in reported or node not in reach[node]:
                continue
            cycle = [n for n in instant if n == node or (n in reach[node] and node in reach[n])]
            reported.update(cycle)
            source = self.sources[node[0]]
            labels = " -> ".join(f"{f}[{i}] ({self.sources[f].steps[i].verb_name})" for f, i in cycle)  # type: ignore[union-attr]
            self.issues.append(
                source.doc.issue(
                    source.path(node[1]),
                    f"these steps loop without ever waiting for the caller, the call would spin: {labels}"
                    " -> back; put a play, gather or pause in the loop",
                )
            )


_EMPTY_FILE = (
    "this flow file defines nothing: give it flows: {main: [- play: ...]} and, in one file, entry: {inbound: main}"
    " (without an inbound flow every citizen's call is declined), or delete it"
)


class _AnyName(set[str]):
    """The names a file defines when that file could not be read (already reported): any name may be one of
    them, so no reference to it is reported unknown. One mistake, one message."""

    def __contains__(self, name: object) -> bool:
        return True


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


def _mapping(data: Any, key: str) -> dict[Any, Any]:
    value = data.get(key) if isinstance(data, dict) else None
    return value if isinstance(value, dict) else {}


def _in_file_order(issues: list[ConfigIssue], files: list[str]) -> list[ConfigIssue]:
    """Files in the order they were read; within a file, top to bottom."""
    files = list(dict.fromkeys([*files, *(i.file for i in issues)]))
    return sorted(issues, key=lambda i: (files.index(i.file), i.line or 0))


def _raw_key(doc: YamlDoc, hotline_id: str) -> Any:
    """The key as YAML read it (`123:` is the integer 123), to find its line."""
    data = _mapping(doc.data, "hotlines")
    return next((key for key in data if str(key) == hotline_id), hotline_id)


def _unknown_key(key: Any, allowed: tuple[str, ...]) -> str:
    return f"unknown key {key!r}{close(str(key), allowed)}; allowed: {', '.join(allowed)}"
