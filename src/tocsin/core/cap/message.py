"""The CAP 1.2 alert message as values: alert, info, area, resource (OASIS CAP 1.2, §3.2).

Element names follow the standard; repeated elements are tuples. Polygons and circles keep their
CAP text (`lat,lon lat,lon …`, `lat,lon radius`), read by `geometry`; references keep theirs
(`sender,identifier,sent`). `alert_json` and `alert_from_json` turn a message into plain JSON
and back (how a draft is stored), field for field.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, fields, is_dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any, Final

from tocsin.core.cap.times import format_time, parse_time

CAP_NAMESPACE: Final = "urn:oasis:names:tc:emergency:cap:1.2"
DEFAULT_LANGUAGE: Final = "en-US"  # CAP 1.2 §3.2.2: the language of an info without one


class Status(StrEnum):
    """`status`: how the message is to be handled."""

    ACTUAL = "Actual"
    EXERCISE = "Exercise"
    SYSTEM = "System"
    TEST = "Test"
    DRAFT = "Draft"


class MsgType(StrEnum):
    """`msgType`: what the message does."""

    ALERT = "Alert"
    UPDATE = "Update"
    CANCEL = "Cancel"
    ACK = "Ack"
    ERROR = "Error"


class Scope(StrEnum):
    """`scope`: who may read it."""

    PUBLIC = "Public"
    RESTRICTED = "Restricted"
    PRIVATE = "Private"


class Urgency(StrEnum):
    """`urgency`: how soon to act."""

    IMMEDIATE = "Immediate"
    EXPECTED = "Expected"
    FUTURE = "Future"
    PAST = "Past"
    UNKNOWN = "Unknown"


class Severity(StrEnum):
    """`severity`: how bad."""

    EXTREME = "Extreme"
    SEVERE = "Severe"
    MODERATE = "Moderate"
    MINOR = "Minor"
    UNKNOWN = "Unknown"


class Certainty(StrEnum):
    """`certainty`: how sure."""

    OBSERVED = "Observed"
    LIKELY = "Likely"
    POSSIBLE = "Possible"
    UNLIKELY = "Unlikely"
    UNKNOWN = "Unknown"


class ResponseType(StrEnum):
    """`responseType`: what the public should do."""

    SHELTER = "Shelter"
    EVACUATE = "Evacuate"
    PREPARE = "Prepare"
    EXECUTE = "Execute"
    AVOID = "Avoid"
    MONITOR = "Monitor"
    ASSESS = "Assess"
    ALL_CLEAR = "AllClear"
    NONE = "None"


@dataclass(frozen=True, slots=True)
class NamedValue:
    """A `valueName`/`value` pair (eventCode, parameter, geocode)."""

    name: str
    value: str


@dataclass(frozen=True, slots=True)
class Resource:
    """A `resource`: a file that goes with the message."""

    description: str
    mime_type: str
    size: int | None = None
    uri: str | None = None
    digest: str | None = None


@dataclass(frozen=True, slots=True)
class Area:
    """An `area`: its description and its shapes (polygons, circles) and codes."""

    description: str
    polygons: tuple[str, ...] = ()
    circles: tuple[str, ...] = ()
    geocodes: tuple[NamedValue, ...] = ()
    altitude: float | None = None
    ceiling: float | None = None


@dataclass(frozen=True, slots=True)
class Info:
    """An `info` block: one language's account of the event."""

    categories: tuple[str, ...]
    event: str
    urgency: Urgency
    severity: Severity
    certainty: Certainty
    language: str = DEFAULT_LANGUAGE
    response_types: tuple[ResponseType, ...] = ()
    audience: str | None = None
    event_codes: tuple[NamedValue, ...] = ()
    effective: datetime | None = None
    onset: datetime | None = None
    expires: datetime | None = None
    sender_name: str | None = None
    headline: str | None = None
    description: str | None = None
    instruction: str | None = None
    web: str | None = None
    contact: str | None = None
    parameters: tuple[NamedValue, ...] = ()
    resources: tuple[Resource, ...] = ()
    areas: tuple[Area, ...] = ()

    def parameter(self, name: str) -> str | None:
        """The value of the first parameter with this name (None when absent)."""
        return next((p.value for p in self.parameters if p.name == name), None)


@dataclass(frozen=True, slots=True)
class Alert:
    """A CAP 1.2 `alert`."""

    identifier: str
    sender: str
    sent: datetime
    status: Status
    msg_type: MsgType
    scope: Scope
    source: str | None = None
    restriction: str | None = None
    addresses: str | None = None
    codes: tuple[str, ...] = ()
    note: str | None = None
    references: tuple[str, ...] = ()
    incidents: str | None = None
    infos: tuple[Info, ...] = field(default_factory=tuple)

    @property
    def languages(self) -> tuple[str, ...]:
        """The languages of the info blocks, each once, in order."""
        return tuple(dict.fromkeys(i.language for i in self.infos))

    @property
    def expires(self) -> datetime | None:
        """The latest `expires` of the info blocks (None when none has one)."""
        found = [i.expires for i in self.infos if i.expires is not None]
        return max(found) if found else None

    def reference(self) -> str:
        """How a later message names this one in its `references` (sender,identifier,sent)."""
        return f"{self.sender},{self.identifier},{format_time(self.sent)}"


# -- JSON (how drafts are stored) ---------------------------------------------------------------

_TYPES: Final[dict[str, Any]] = {
    "status": Status,
    "msg_type": MsgType,
    "scope": Scope,
    "urgency": Urgency,
    "severity": Severity,
    "certainty": Certainty,
}
_TIMES: Final = frozenset({"sent", "effective", "onset", "expires"})
_NESTED: Final[dict[str, Any]] = {
    "infos": Info,
    "areas": Area,
    "resources": Resource,
    "event_codes": NamedValue,
    "parameters": NamedValue,
    "geocodes": NamedValue,
}


def alert_json(value: Any) -> Any:
    """A message (or any part of it) as plain JSON: times as CAP text, tuples as lists."""
    if is_dataclass(value) and not isinstance(value, type):
        return {f.name: alert_json(getattr(value, f.name)) for f in fields(value)}
    if isinstance(value, datetime):
        return format_time(value)
    if isinstance(value, tuple):
        return [alert_json(v) for v in value]
    return value.value if isinstance(value, StrEnum) else value


def alert_from_json(data: Mapping[str, Any]) -> Alert:
    """A message from its JSON form (`alert_json`)."""
    alert: Alert = _build(Alert, data)
    return alert


def _build(cls: Any, data: Mapping[str, Any]) -> Any:
    values: dict[str, Any] = {}
    for f in fields(cls):
        if f.name not in data:
            continue
        raw = data[f.name]
        values[f.name] = _field(f.name, raw)
    return cls(**values)


def _field(name: str, raw: Any) -> Any:
    if raw is None:
        return None
    if name in _NESTED:
        return tuple(_build(_NESTED[name], item) for item in raw)
    if name == "response_types":
        return tuple(ResponseType(v) for v in raw)
    if name in _TIMES:
        return parse_time(raw)
    if name in _TYPES:
        return _TYPES[name](raw)
    return tuple(raw) if isinstance(raw, list) else raw
