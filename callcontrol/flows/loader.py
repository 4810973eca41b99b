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

from callcontrol.config import Settings
from callcontrol.flows import graph
from callcontrol.flows.graph import Node, Source
from callcontrol.flows.reading import FlowFileReader
from callcontrol.flows.schedule_file import parse_schedules
from callcontrol.flows.schedules import WeeklySchedule
from callcontrol.flows.schema import StepBase
from callcontrol.flows.verbs.base import FLOW_PREFIX, MEDIA_PREFIXES, Refs, close, unknown
from callcontrol.numbers import normalise
from callcontrol.routing.hotlines import HotlineRouting
from callcontrol.yamlsource import ConfigError, ConfigIssue, KeyPath, YamlDoc, load_yaml

INBOUND = "inbound"


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

    def load_calendars(self) -> None:
        """Build the schedules' public-holiday calendars now (they are built at their first use otherwise)."""
        for schedule in self.schedules.values():
            if schedule.public_holidays is not None:
                schedule.public_holidays.load()

    def resolve(self, flow_id: str, target: str) -> Node:
        """Where `target` (a step id of `flow_id`, or flow:ID) leads."""
        if target.startswith(FLOW_PREFIX):
            return target.removeprefix(FLOW_PREFIX), 0
        return flow_id, self.flows[flow_id].index[target]


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


class _Loader(FlowFileReader):
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
        self.sources: dict[str, Source] = {}
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
            entry_flows = {name: flow for name, (flow, _, _) in self.entries.items()}
            self.issues += graph.unreachable_issues(self.sources, entry_flows)
        self.issues += graph.spin_issues(self.sources)
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

    def refs(self, source: Source, schedules: set[str], hotlines: Mapping[str, HotlineRouting]) -> Refs:
        allowed = source.allowed | self.settings_allowed()
        complete = not self.partial_flows
        return Refs(source.doc.file, schedules, hotlines, self.caller_lists, allowed, self.region, complete=complete)

    def check_steps(self, source: Source, schedules: set[str], hotlines: Mapping[str, HotlineRouting]) -> None:
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

    def target_problem(self, source: Source, target: str, ids: dict[str, int]) -> str | None:
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


class _AnyName(set[str]):
    """The names a file defines when that file could not be read (already reported): any name may be one of
    them, so no reference to it is reported unknown. One mistake, one message."""

    def __contains__(self, name: object) -> bool:
        return True


def _mapping(data: Any, key: str) -> dict[Any, Any]:
    value = data.get(key) if isinstance(data, dict) else None
    return value if isinstance(value, dict) else {}


def _in_file_order(issues: list[ConfigIssue], files: list[str]) -> list[ConfigIssue]:
    """Files in the order they were read; within a file, top to bottom."""
    files = list(dict.fromkeys([*files, *(i.file for i in issues)]))
    return sorted(issues, key=lambda i: (files.index(i.file), i.line or 0))
