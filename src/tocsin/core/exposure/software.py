"""What an asset runs: CPE 2.3 formatted-string names and package URLs, parsed and validated.

A CPE 2.3 formatted string (NISTIR 7695, section 6.2) is `cpe:2.3:` followed by eleven
attributes separated by unquoted colons: part, vendor, product, version, update, edition,
language, sw_edition, target_sw, target_hw, other. `*` is ANY, `-` is NA (not applicable); other
punctuation is quoted with a backslash; an unquoted `*` or `?` at either end of a value is a
wildcard (allowed in a feed's match criteria, never in an inventory). A package URL (the purl
specification) is `pkg:type/namespace/name@version?qualifiers#subpath`, percent-encoded.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from urllib.parse import unquote

from tocsin.core.errors import InvalidInput, Problem

ATTRIBUTES = (
    "part",
    "vendor",
    "product",
    "version",
    "update",
    "edition",
    "language",
    "sw_edition",
    "target_sw",
    "target_hw",
    "other",
)
ANY = "*"
NA = "-"
PARTS = frozenset({"a", "o", "h", ANY, NA})
# one attribute value: optional leading wildcards, body of plain or quoted characters, optional
# trailing wildcards (NISTIR 7695 section 6.2.2, `avstring`)
_BODY = r"(?:[A-Za-z0-9._-]|\\[^A-Za-z0-9\s])"
_VALUE = re.compile(rf"^(?:\*|-|(?:\*|\?+)?{_BODY}+(?:\*|\?+)?)$")
_SPLIT = re.compile(r"(?<!\\):")
_PURL = re.compile(
    r"^pkg:([A-Za-z.+-][A-Za-z0-9.+-]*)/([^?#@]+)(?:@([^?#]+))?(?:\?[^#]*)?(?:#.*)?$"
)


@dataclass(frozen=True, slots=True)
class Cpe:
    """A CPE 2.3 name: its eleven attribute values as written (quoted), lower-cased."""

    values: tuple[str, ...]

    def get(self, attribute: str) -> str:
        """The value of one attribute by name ("version", "product", …)."""
        return self.values[ATTRIBUTES.index(attribute)]

    @property
    def has_wildcards(self) -> bool:
        """True when some value holds an unquoted wildcard (criteria, not an installed thing)."""
        return any(v not in (ANY, NA) and _wild(v) for v in self.values)

    def __str__(self) -> str:
        return "cpe:2.3:" + ":".join(self.values)


@dataclass(frozen=True, slots=True)
class Package:
    """A package URL's identity: type, namespace, name and version (decoded)."""

    type: str
    namespace: str
    name: str
    version: str | None

    def __str__(self) -> str:
        space = f"{self.namespace}/" if self.namespace else ""
        at = f"@{self.version}" if self.version else ""
        return f"pkg:{self.type}/{space}{self.name}{at}"


Software = Cpe | Package


def _wild(value: str) -> bool:
    return value[0] in "*?" or (value[-1] in "*?" and not value.endswith("\\" + value[-1]))


def cpe_problem(text: str) -> str | None:
    """Why `text` is not a CPE 2.3 formatted string, or None when it is one."""
    if not text.startswith("cpe:2.3:"):
        return "a CPE name starts with 'cpe:2.3:'"
    values = _SPLIT.split(text[len("cpe:2.3:") :])
    if len(values) != len(ATTRIBUTES):
        return (
            f"a CPE 2.3 name has {len(ATTRIBUTES)} attributes after 'cpe:2.3:', not {len(values)}"
        )
    if values[0].lower() not in PARTS:
        return f"part {values[0]!r} is none of a, o, h, *, -"
    for name, value in zip(ATTRIBUTES, values, strict=True):
        if not _VALUE.match(value):
            return f"{name} {value!r} is not a CPE attribute value (quote punctuation with \\)"
    return None


def parse_cpe(text: str) -> Cpe:
    """A CPE 2.3 formatted string as a Cpe; InvalidInput saying what is wrong."""
    reason = cpe_problem(text)
    if reason is not None:
        raise InvalidInput([Problem("software", text[:200], reason)])
    return Cpe(tuple(v.lower() for v in _SPLIT.split(text[len("cpe:2.3:") :])))


def purl_problem(text: str) -> str | None:
    """Why `text` is not a package URL with a type and a name, or None when it is one."""
    match = _PURL.match(text)
    if match is None:
        return "a package URL reads pkg:type/namespace/name@version"
    if not match.group(2).strip("/").split("/")[-1]:
        return "a package URL needs a name"
    return None


def parse_purl(text: str) -> Package:
    """A package URL as a Package (qualifiers and subpath are not part of its identity)."""
    reason = purl_problem(text)
    match = _PURL.match(text)
    if reason is not None or match is None:
        raise InvalidInput([Problem("software", text[:200], reason or "not a package URL")])
    kind = match.group(1).lower()
    segments = [unquote(s) for s in match.group(2).strip("/").split("/") if s]
    version = unquote(match.group(3)) if match.group(3) else None
    return Package(kind, "/".join(segments[:-1]), segments[-1], version)


def software_problem(text: str, *, installed: bool = True) -> str | None:
    """Why `text` is not a software name an asset can run, or None when it is one."""
    if text.startswith("pkg:"):
        return purl_problem(text)
    reason = cpe_problem(text)
    if reason is None and installed and parse_cpe(text).has_wildcards:
        return "an installed product's CPE name has no wildcards"
    return reason


def parse_software(text: str) -> Software:
    """A CPE 2.3 name or a package URL, parsed."""
    return parse_purl(text) if text.startswith("pkg:") else parse_cpe(text)
