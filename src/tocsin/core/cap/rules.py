"""The checks of OASIS CAP 1.2 that its XML schema cannot express, each named, each saying where.

Run on every message before it leaves Tocsin (after the schema), and by `tocsin cap validate`:

- `identifiers`: identifier and sender without spaces, commas, `<` or `&` (§3.2.1);
- `references`: each reference is `sender,identifier,sent` with sent a CAP date-time, and an
  Update or Cancel names at least one (§3.2.1);
- `scope`: Restricted needs `restriction`, Private needs `addresses` (§3.2.1);
- `expires`: every `expires` later than `sent` and `effective`, and not before `onset` (§3.2.2);
- `languages`: language tags are RFC 3066; every language has as many info blocks, and the
  blocks that translate one another agree on category, urgency, severity, certainty, onset and
  expires (§3.2.2);
- `polygon`: at least 4 points, `lat,lon` in range, closed (first = last), not crossing itself
  (§3.2.4);
- `circle`: `lat,lon radius` with a radius of 0 km or more (§3.2.4).

A problem reads `where` (a path into the message, e.g. `alert.info[1].area[0].polygon[0]`),
`field` (the rule) and `reason`.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from enum import StrEnum
from typing import Final

from tocsin.core.cap import geometry as geo
from tocsin.core.cap.message import Alert, Area, Info, MsgType, Scope
from tocsin.core.cap.times import is_time
from tocsin.core.errors import Problem


class CapRule(StrEnum):
    """A named check beyond the schema."""

    IDENTIFIERS = "identifiers"
    REFERENCES = "references"
    SCOPE = "scope"
    EXPIRES = "expires"
    LANGUAGES = "languages"
    POLYGON = "polygon"
    CIRCLE = "circle"


FORBIDDEN: Final = re.compile(r"[\s,<&]")
LANGUAGE_TAG: Final = re.compile(r"[A-Za-z]{1,8}(-[A-Za-z0-9]{1,8})*")
TRANSLATED: Final = ("categories", "urgency", "severity", "certainty", "onset", "expires")


def check(alert: Alert) -> list[Problem]:
    """Every problem of every rule, in the order of the table above."""
    return [p for rule in RULES.values() for p in rule(alert)]


def _identifiers(alert: Alert) -> list[Problem]:
    return [
        Problem(f"alert.{name}", CapRule.IDENTIFIERS, f"{value!r} holds a space, comma, < or &")
        for name, value in (("identifier", alert.identifier), ("sender", alert.sender))
        if FORBIDDEN.search(value)
    ]


def _references(alert: Alert) -> list[Problem]:
    out: list[Problem] = []
    for i, ref in enumerate(alert.references):
        parts = ref.split(",")
        if len(parts) != 3 or not all(parts):
            reason = f"{ref!r} is not sender,identifier,sent"
        elif not is_time(parts[2]):
            reason = f"{parts[2]!r} is not a CAP date-time (YYYY-MM-DDThh:mm:ss±hh:mm)"
        else:
            continue
        out.append(Problem(f"alert.references[{i}]", CapRule.REFERENCES, reason))
    if alert.msg_type in (MsgType.UPDATE, MsgType.CANCEL) and not alert.references:
        reason = f"msgType {alert.msg_type.value} must name the message(s) it replaces"
        out.append(Problem("alert.references", CapRule.REFERENCES, reason))
    return out


def _scope(alert: Alert) -> list[Problem]:
    if alert.scope is Scope.RESTRICTED and not alert.restriction:
        return [Problem("alert.restriction", CapRule.SCOPE, "scope Restricted needs restriction")]
    if alert.scope is Scope.PRIVATE and not alert.addresses:
        return [Problem("alert.addresses", CapRule.SCOPE, "scope Private needs addresses")]
    return []


def _expires(alert: Alert) -> list[Problem]:
    out: list[Problem] = []
    for i, info in enumerate(alert.infos):
        if info.expires is None:
            continue
        for name, moment in (("sent", alert.sent), ("effective", info.effective)):
            if moment is not None and info.expires <= moment:
                reason = f"expires {info.expires.isoformat()} is not after {name}"
                out.append(Problem(f"alert.info[{i}].expires", CapRule.EXPIRES, reason))
        if info.onset is not None and info.expires < info.onset:
            reason = f"expires {info.expires.isoformat()} is before onset"
            out.append(Problem(f"alert.info[{i}].expires", CapRule.EXPIRES, reason))
    return out


def _languages(alert: Alert) -> list[Problem]:
    out = [
        Problem(f"alert.info[{i}].language", CapRule.LANGUAGES, f"{info.language!r} is no tag")
        for i, info in enumerate(alert.infos)
        if LANGUAGE_TAG.fullmatch(info.language) is None
    ]
    blocks: dict[str, list[tuple[int, Info]]] = {}
    for i, info in enumerate(alert.infos):
        blocks.setdefault(info.language.lower(), []).append((i, info))
    counts = {lang: len(found) for lang, found in blocks.items()}
    if len(set(counts.values())) > 1:
        shown = ", ".join(f"{lang}: {n}" for lang, n in counts.items())
        reason = f"languages have different numbers of info blocks ({shown})"
        return [*out, Problem("alert.info", CapRule.LANGUAGES, reason)]
    first, *others = list(blocks.values()) or [[]]
    for other in others:
        for (i, a), (j, b) in zip(first, other, strict=True):
            for name in TRANSLATED:
                if getattr(a, name) != getattr(b, name):
                    reason = f"{name} differs from alert.info[{i}] ({a.language}), its translation"
                    out.append(Problem(f"alert.info[{j}].{name}", CapRule.LANGUAGES, reason))
    return out


def _areas(alert: Alert) -> Iterator[tuple[str, Area]]:
    for i, info in enumerate(alert.infos):
        for j, area in enumerate(info.areas):
            yield f"alert.info[{i}].area[{j}]", area


def _shape_problems(
    alert: Alert,
    rule: CapRule,
    *,
    shapes: Callable[[Area], tuple[str, ...]],
    check: Callable[[str], list[str]],
) -> list[Problem]:
    """Every area's shapes of one kind (the rule's name: `polygon`, `circle`), each checked."""
    return [
        Problem(f"{where}.{rule.value}[{k}]", rule, reason)
        for where, area in _areas(alert)
        for k, text in enumerate(shapes(area))
        for reason in check(text)
    ]


def _polygons(alert: Alert) -> list[Problem]:
    return _shape_problems(
        alert, CapRule.POLYGON, shapes=lambda area: area.polygons, check=polygon_problems
    )


def _circles(alert: Alert) -> list[Problem]:
    return _shape_problems(
        alert, CapRule.CIRCLE, shapes=lambda area: area.circles, check=circle_problems
    )


def polygon_problems(text: str) -> list[str]:
    """Why a CAP polygon text is not a closed, simple ring of at least 4 points."""
    try:
        points = geo.parse_polygon(text)
    except ValueError as err:
        return [str(err)]
    if len(points) < 4:
        return [f"{len(points)} points; a polygon needs at least 4 (the first repeated last)"]
    if points[0] != points[-1]:
        return ["not closed: the last point must repeat the first"]
    if not geo.is_simple(geo.opened(points)):
        return ["the ring crosses or touches itself (or has no area)"]
    return []


def circle_problems(text: str) -> list[str]:
    """Why a CAP circle text is not `lat,lon radius`."""
    try:
        geo.parse_circle(text)
    except ValueError as err:
        return [str(err)]
    return []


RULES: Final[dict[CapRule, Callable[[Alert], list[Problem]]]] = {
    CapRule.IDENTIFIERS: _identifiers,
    CapRule.REFERENCES: _references,
    CapRule.SCOPE: _scope,
    CapRule.EXPIRES: _expires,
    CapRule.LANGUAGES: _languages,
    CapRule.POLYGON: _polygons,
    CapRule.CIRCLE: _circles,
}
