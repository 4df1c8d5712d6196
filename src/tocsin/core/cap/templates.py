"""Texts of public alerts from configuration: `{placeholders}` filled from the warning.

A template is plain text with `{name}` placeholders; `{{` and `}}` write braces. Only the names
listed in `NAMES` are known, plus `explanation.KEY` and `cause.KEY` (the warning's explanation
and cause, one level deep; a key the warning lacks renders empty). There is no attribute access,
no indexing and no formatting language: a template can only ever insert these strings, so a
configuration cannot reach into the program (as `str.format` on objects could).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Final

NAMES: Final[dict[str, str]] = {
    "region": "the region's name (several: their names, comma-separated)",
    "region_code": "the region's code (several: comma-separated)",
    "domain": "the domain's code",
    "domain_name": "the domain's name",
    "level": "the level (red, orange, yellow, blue)",
    "level_label": "the level's label (e.g. 'Red (level I)')",
    "severity": "the CAP severity (Extreme, Severe, Moderate, Minor)",
    "subject": "what the warning is about (an indicator's code, a rule's name)",
    "onset": "when it starts (UTC, 'YYYY-MM-DD HH:MM')",
    "expires": "when it ends (UTC, 'YYYY-MM-DD HH:MM')",
    "sender_name": "the issuing agency's name",
    "reason": "the warning's last reason (what crossed which threshold)",
}
PREFIXES: Final = ("explanation.", "cause.")
_TOKEN: Final = re.compile(r"\{\{|\}\}|\{([^{}]*)\}|[{}]")
_NAME: Final = re.compile(r"[a-z_][a-z0-9_]*(\.[A-Za-z0-9_]+)?")


@dataclass(frozen=True, slots=True)
class Template:
    """A validated template text."""

    text: str

    def render(self, values: Mapping[str, str]) -> str:
        """The text with its placeholders filled (unknown or missing values: empty)."""

        def fill(m: re.Match[str]) -> str:
            token = m.group(0)
            if token in ("{{", "}}"):
                return token[0]
            return values.get(m.group(1) or "", "")

        return _TOKEN.sub(fill, self.text).strip()


def template_problems(text: str) -> list[str]:
    """Why a template text is not valid (unknown placeholder, unmatched brace)."""
    out: list[str] = []
    for m in _TOKEN.finditer(text):
        token = m.group(0)
        if token in ("{{", "}}"):
            continue
        name = m.group(1)
        if name is None:
            out.append(f"unmatched {token!r} at character {m.start() + 1} (write {token * 2})")
        elif not _known(name):
            allowed = ", ".join([*NAMES, "explanation.KEY", "cause.KEY"])
            out.append(f"unknown placeholder {{{name}}} (known: {allowed})")
    return out


def _known(name: str) -> bool:
    if _NAME.fullmatch(name) is None:
        return False
    return name in NAMES or any(name.startswith(p) and len(name) > len(p) for p in PREFIXES)


def flatten(prefix: str, data: Mapping[str, Any]) -> dict[str, str]:
    """`prefix.key` -> text for the scalar values of a mapping (nested values left out)."""
    return {
        f"{prefix}.{key}": _text(value)
        for key, value in data.items()
        if isinstance(value, str | int | float | bool) or value is None
    }


def _text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, float):
        return f"{value:.6g}"
    return str(value)
