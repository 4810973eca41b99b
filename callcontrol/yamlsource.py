"""YAML files that remember where each value came from, so that a bad value is reported with file, line and path."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

KeyPath = tuple[str | int, ...]


@dataclass(frozen=True)
class ConfigIssue:
    """One thing wrong with the configuration, located precisely enough to fix it without a debugger."""

    file: str
    line: int | None
    path: str
    message: str

    def __str__(self) -> str:
        where = f"{self.file}:{self.line}" if self.line else self.file
        return f"{where}: {self.path or '(top level)'}: {self.message}"


class ConfigError(Exception):
    """The configuration cannot be used; `issues` lists every problem found, not just the first."""

    def __init__(self, issues: Iterable[ConfigIssue]):
        self.issues = list(issues)
        super().__init__("\n".join(str(i) for i in self.issues))


@dataclass
class YamlDoc:
    """A parsed YAML file plus the line of every mapping key and sequence item in it."""

    file: str
    data: Any
    lines: dict[KeyPath, int] = field(default_factory=dict)

    def line_of(self, path: KeyPath) -> int | None:
        """The line of `path`, or of its nearest located ancestor."""
        while True:
            if path in self.lines:
                return self.lines[path]
            if not path:
                return None
            path = path[:-1]

    def issue(self, path: KeyPath, message: str) -> ConfigIssue:
        return ConfigIssue(self.file, self.line_of(path), format_path(path), message)


def format_path(path: KeyPath) -> str:
    out = ""
    for part in path:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out


class _Loader(yaml.SafeLoader):
    pass


class _FastLoader(getattr(yaml, "CSafeLoader", yaml.SafeLoader)):  # type: ignore[misc]
    """The same on libyaml when PyYAML has it: ~10 times faster, and every start of the app or of a CLI command
    reads the whole configuration. A file it refuses is read again by _Loader, whose messages users know."""


def _timestamp(loader: yaml.constructor.SafeConstructor, node: yaml.ScalarNode) -> Any:
    """A date that cannot exist (2026-02-30) stays text, so that the key expecting a date reports it at its line
    (PyYAML would raise a bare ValueError with no location while building the whole document)."""
    try:
        return yaml.constructor.SafeConstructor.construct_yaml_timestamp(loader, node)
    except ValueError:
        return loader.construct_scalar(node)


_Loader.add_constructor("tag:yaml.org,2002:timestamp", _timestamp)
_FastLoader.add_constructor("tag:yaml.org,2002:timestamp", _timestamp)


def _walk(node: yaml.Node, path: KeyPath, lines: dict[KeyPath, int]) -> None:
    lines.setdefault(path, node.start_mark.line + 1)
    if isinstance(node, yaml.MappingNode):
        for key_node, value_node in node.value:
            if not isinstance(key_node, yaml.ScalarNode):
                continue  # not a key anyone can write by mistake and still mean; yaml.load reports it
            key = key_node.value
            lines[(*path, key)] = key_node.start_mark.line + 1
            _walk(value_node, (*path, key), lines)
    elif isinstance(node, yaml.SequenceNode):
        for index, item in enumerate(node.value):
            lines[(*path, index)] = item.start_mark.line + 1
            _walk(item, (*path, index), lines)


def load_yaml(path: Path, *, display_name: str | None = None) -> YamlDoc:
    """Parse one YAML file; syntax errors and duplicate keys become a ConfigError naming the file and line."""
    name = display_name or str(path)
    return parse_yaml(read_text(path, name), name)


def read_text(path: Path, name: str | None = None) -> str:
    """A configuration file's text; unreadable or not UTF-8 becomes a ConfigError naming the file (and line)."""
    name = name or str(path)
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise ConfigError([ConfigIssue(name, None, "", f"cannot read file: {exc.strerror}")]) from exc
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = raw.count(b"\n", 0, exc.start) + 1
        byte = raw[exc.start]
        message = f"not UTF-8 (byte 0x{byte:02X} at line {line}): save it as UTF-8"
        raise ConfigError([ConfigIssue(name, line, "", message)]) from None


def parse_yaml(text: str, name: str) -> YamlDoc:
    try:
        return _parse(text, name, _FastLoader)
    except ConfigError:
        return _parse(text, name, _Loader)  # the problems as the pure-Python parser words them


def _parse(text: str, name: str, loader_class: type[yaml.SafeLoader]) -> YamlDoc:
    loader = loader_class(text)  # parsed once: the node tree gives the lines, then the data is built from it
    try:
        try:
            node = loader.get_single_node()
        except yaml.MarkedYAMLError as exc:
            raise _invalid(name, exc) from None
        if node is None:
            return YamlDoc(name, None)
        lines: dict[KeyPath, int] = {}
        _walk(node, (), lines)
        duplicates = _duplicate_keys(node, ())
        if duplicates:
            raise ConfigError(
                ConfigIssue(name, line, format_path(p), "key defined twice; keep one") for p, line in duplicates
            )
        try:
            data = loader.construct_document(node)
        except yaml.MarkedYAMLError as exc:  # e.g. a list used as a mapping key
            raise _invalid(name, exc) from None
        except ValueError as exc:  # left to PyYAML's own constructors (impossible dates stay text: _timestamp)
            raise ConfigError([ConfigIssue(name, None, "", f"invalid value: {exc}")]) from exc
    finally:
        loader.dispose()
    return YamlDoc(name, data, lines)


def _invalid(name: str, exc: yaml.MarkedYAMLError) -> ConfigError:
    mark = exc.problem_mark or exc.context_mark
    line = mark.line + 1 if mark else None
    return ConfigError([ConfigIssue(name, line, "", f"invalid YAML: {exc.problem or exc}")])


def _duplicate_keys(node: yaml.Node, path: KeyPath) -> list[tuple[KeyPath, int]]:
    found: list[tuple[KeyPath, int]] = []
    if isinstance(node, yaml.MappingNode):
        seen: set[Any] = set()
        for key_node, value_node in node.value:
            if not isinstance(key_node, yaml.ScalarNode):
                continue
            if key_node.value in seen:
                found.append(((*path, key_node.value), key_node.start_mark.line + 1))
            seen.add(key_node.value)
            found += _duplicate_keys(value_node, (*path, key_node.value))
    elif isinstance(node, yaml.SequenceNode):
        for index, item in enumerate(node.value):
            found += _duplicate_keys(item, (*path, index))
    return found


def pydantic_issues(doc: YamlDoc, error: Any, *, prefix: KeyPath = ()) -> list[ConfigIssue]:
    """Turn a pydantic ValidationError on `doc.data` (or a part of it at `prefix`) into located issues."""
    issues = []
    for err in error.errors():
        loc: KeyPath = (*prefix, *(p for p in err["loc"] if not _is_union_tag(p)))
        message = err["msg"]
        if err["type"] == "extra_forbidden":
            message = "unknown key; check its spelling (see docs/configuration.md)"
        elif err["type"] == "missing":
            message = "required key is missing"
        issues.append(doc.issue(loc, message))
    return issues


def _is_union_tag(part: Any) -> bool:
    # pydantic inserts the name of the union member it tried (e.g. 'function-after[...]'); not a YAML key.
    return isinstance(part, str) and ("[" in part or part.startswith("function-"))
