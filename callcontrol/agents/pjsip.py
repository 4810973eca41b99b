"""Which PJSIP endpoints exist, to check agents' softphones against: Asterisk's own list when ARI answers
(GET /ari/endpoints/PJSIP, the truth), else the pjsip.conf shipped beside the configuration."""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from callcontrol.yamlsource import read_text

_SECTION = re.compile(r"^\[([^\]]+)\]\s*(?:\(([^)]*)\))?")
_INCLUDE = re.compile(r"^#\s*(?:try)?include\s+\"?([^\"]+?)\"?\s*$")


@dataclass(frozen=True)
class Endpoints:
    """The endpoint names a softphone may use, and where that list comes from (for the message)."""

    names: frozenset[str]
    source: str


def endpoints_from_conf(path: Path) -> Endpoints | None:
    """The endpoints that `path` (Asterisk's pjsip.conf syntax) defines, or None when there is no such file.
    Sections with `type = endpoint`, directly or through templates; templates `(!)` themselves are not."""
    if not path.is_file():
        return None
    types: dict[str, str] = {}  # template name -> its type
    endpoints: set[str] = set()
    for name, is_template, parents, kind in _sections(path, set()):
        kind = kind or next((types[p] for p in parents if p in types), "")
        if is_template:
            types[name] = kind
        elif kind == "endpoint":
            endpoints.add(name)
    return Endpoints(frozenset(endpoints), str(path))


def _sections(path: Path, seen: set[Path]) -> list[tuple[str, bool, list[str], str]]:
    """(name, is a template, parent templates, type) of every section, `#include`d files inline."""
    if path in seen or not path.is_file():
        return []
    seen.add(path)
    out: list[tuple[str, bool, list[str], str]] = []
    for raw in _strip_comments(read_text(path)).splitlines():
        line = raw.strip()
        include = _INCLUDE.match(line)
        if include:
            out += _sections(path.parent / include[1], seen)
            continue
        section = _SECTION.match(line)
        if section:
            options = [o.strip() for o in (section[2] or "").split(",") if o.strip()]
            out.append((section[1].strip(), "!" in options, [o for o in options if o != "!"], ""))
            continue
        key, sep, value = line.partition("=")
        if sep and out and key.strip() == "type":
            name, is_template, parents, _ = out[-1]
            out[-1] = (name, is_template, parents, value.lstrip(">").strip())
    return out


def _strip_comments(text: str) -> str:
    text = re.sub(r";--.*?--;", "", text, flags=re.DOTALL)  # block comments
    return "\n".join(re.sub(r"(?<!\\);.*", "", line) for line in text.splitlines())
