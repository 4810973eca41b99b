"""The call graph of the flows, checked as a whole: every flow reachable, no loop that never waits.

Nodes are (flow id, step index); edges are a step's branches and, unless it never falls through, the next step.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from callcontrol.flows.schema import StepBase
from callcontrol.flows.verbs.base import FLOW_PREFIX
from callcontrol.yamlsource import ConfigIssue, KeyPath, YamlDoc

Node = tuple[str, int]  # (flow id, step index)


@dataclass
class Source:
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


def successors(sources: Mapping[str, Source], node: Node) -> list[Node]:
    """Where the call may go after step `node` (targets that do not resolve are reported elsewhere)."""
    flow_id, i = node
    source = sources[flow_id]
    verb = source.steps[i].verb  # type: ignore[union-attr]  # only asked about valid steps
    ids = source.step_ids()
    out = []
    for _, target in verb.branches():
        if target.startswith(FLOW_PREFIX) and target.removeprefix(FLOW_PREFIX) in sources:
            out.append((target.removeprefix(FLOW_PREFIX), 0))
        elif target in ids and source.steps[ids[target]] is not None:
            out.append((flow_id, ids[target]))
    if verb.falls_through() and i + 1 < len(source.steps):
        out.append((flow_id, i + 1))
    return out


def unreachable_issues(sources: Mapping[str, Source], entries: Mapping[str, str]) -> list[ConfigIssue]:
    """A flow no entry and no branch leads to is a mistake (a typo in a target, a forgotten menu key)."""
    issues = []
    seen = {flow_id for flow_id in entries.values() if flow_id in sources}
    todo = list(seen)
    while todo:
        source = sources[todo.pop()]
        for step in source.steps:
            for _, target in step.verb.branches() if step is not None else ():
                flow_id = target.removeprefix(FLOW_PREFIX)
                if target.startswith(FLOW_PREFIX) and flow_id in sources and flow_id not in seen:
                    seen.add(flow_id)
                    todo.append(flow_id)
    listing = ", ".join(f"{name} -> {flow}" for name, flow in entries.items())
    for flow_id, source in sources.items():
        if flow_id not in seen:
            issues.append(
                source.doc.issue(
                    source.path(),
                    f"flow {flow_id!r} is unreachable: no entry and no goto/branch leads to it"
                    f" (entries: {listing}); use it as a flow:{flow_id} target or remove it",
                )
            )
    return issues


def spin_issues(sources: Mapping[str, Source]) -> list[ConfigIssue]:
    """A cycle of steps none of which waits for the caller would spin the CPU: report each one once."""
    issues = []
    instant = [
        (flow_id, i)
        for flow_id, source in sources.items()
        for i, step in enumerate(source.steps)
        if step is not None and not step.verb.waits
    ]
    instant_set = set(instant)
    reach: dict[Node, set[Node]] = {}
    for node in instant:
        seen: set[Node] = set()
        todo = [n for n in successors(sources, node) if n in instant_set]
        while todo:
            current = todo.pop()
            if current not in seen:
                seen.add(current)
                todo += [n for n in successors(sources, current) if n in instant_set]
        reach[node] = seen
    reported: set[Node] = set()
    for node in instant:
        if node in reported or node not in reach[node]:
            continue
        cycle = [n for n in instant if n == node or (n in reach[node] and node in reach[n])]
        reported.update(cycle)
        source = sources[node[0]]
        labels = " -> ".join(f"{f}[{i}] ({sources[f].steps[i].verb_name})" for f, i in cycle)  # type: ignore[union-attr]
        issues.append(
            source.doc.issue(
                source.path(node[1]),
                f"these steps loop without ever waiting for the caller, the call would spin: {labels}"
                " -> back; put a play, gather or pause in the loop",
            )
        )
    return issues
