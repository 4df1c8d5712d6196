"""CAP 1.2 documents as XML: writing our messages, and reading untrusted ones safely.

Reading goes through defusedxml with DTDs forbidden: a document that declares a DTD (the way
external entities, XXE, and entity expansion, "billion laughs", are written) is refused before
anything in it is resolved, and no network or file is ever touched. Documents over the size
limit are refused before parsing. Element order and types are the schema's business
(`schema.py`); here an element is turned into `core.cap.message` values, and a value that cannot
be read (a date-time with a comma for an offset, which the schema's pattern lets through) is a
problem saying where.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from collections.abc import Callable
from datetime import datetime
from typing import Any, Final

from defusedxml import DefusedXmlException
from defusedxml.ElementTree import ParseError, fromstring

from tocsin.core.cap.message import (
    CAP_NAMESPACE,
    Alert,
    Area,
    Certainty,
    Info,
    MsgType,
    NamedValue,
    Resource,
    ResponseType,
    Scope,
    Severity,
    Status,
    Urgency,
)
from tocsin.core.cap.times import format_time, parse_time
from tocsin.core.errors import InvalidInput, Problem

NS: Final = f"{{{CAP_NAMESPACE}}}"
DECLARATION: Final = '<?xml version="1.0" encoding="UTF-8"?>\n'


def parse_untrusted(data: bytes, *, where: str, max_bytes: int) -> ET.Element:
    """The root element of an untrusted XML document; InvalidInput (nothing kept) when it is
    too large, not well-formed, or declares a DTD or entities."""
    if len(data) > max_bytes:
        reason = f"{len(data):,} bytes; documents over {max_bytes:,} bytes are refused"
        raise InvalidInput([Problem(where, "size", reason)])
    try:
        root: ET.Element = fromstring(data, forbid_dtd=True, forbid_entities=True)
    except DefusedXmlException as err:
        reason = f"refused: {type(err).__name__} ({err}); DTDs and entities are not allowed"
        raise InvalidInput([Problem(where, "xml", reason)]) from None
    except ParseError as err:
        raise InvalidInput([Problem(where, "xml", f"not well-formed XML: {err}")]) from None
    return root


# -- reading -------------------------------------------------------------------------------


class _Reader:
    """Reads one alert element, collecting problems instead of stopping at the first."""

    def __init__(self, where: str) -> None:
        self.where = where
        self.problems: list[Problem] = []

    def text(self, parent: ET.Element, name: str) -> str | None:
        child = parent.find(NS + name)
        if child is None:
            return None
        return (child.text or "").strip()

    def texts(self, parent: ET.Element, name: str) -> tuple[str, ...]:
        return tuple((c.text or "").strip() for c in parent.findall(NS + name))

    def value(self, path: str, raw: str | None, convert: Callable[[str], Any]) -> Any:
        if raw is None:
            return None
        try:
            return convert(raw)
        except ValueError as err:
            self.problems.append(Problem(f"{self.where}/{path}", "value", str(err)))
            return None

    def pairs(self, parent: ET.Element, name: str) -> tuple[NamedValue, ...]:
        return tuple(
            NamedValue(self.text(e, "valueName") or "", self.text(e, "value") or "")
            for e in parent.findall(NS + name)
        )


def read_alert(element: ET.Element, *, where: str) -> Alert:
    """A CAP 1.2 alert element (already valid against the schema) as values; InvalidInput
    naming each value that cannot be read."""
    r = _Reader(where)
    infos = tuple(_info(r, e, f"info[{i + 1}]") for i, e in enumerate(element.findall(NS + "info")))
    sent = r.value("sent", r.text(element, "sent"), parse_time)
    refs = r.text(element, "references")
    alert = Alert(
        identifier=r.text(element, "identifier") or "",
        sender=r.text(element, "sender") or "",
        sent=sent or datetime.fromtimestamp(0).astimezone(),
        status=Status(r.text(element, "status") or ""),
        msg_type=MsgType(r.text(element, "msgType") or ""),
        scope=Scope(r.text(element, "scope") or ""),
        source=r.text(element, "source"),
        restriction=r.text(element, "restriction"),
        addresses=r.text(element, "addresses"),
        codes=r.texts(element, "code"),
        note=r.text(element, "note"),
        references=tuple(refs.split()) if refs else (),
        incidents=r.text(element, "incidents"),
        infos=infos,
    )
    if r.problems:
        raise InvalidInput(r.problems)
    return alert


def _info(r: _Reader, e: ET.Element, path: str) -> Info:
    def moment(name: str) -> datetime | None:
        value: datetime | None = r.value(f"{path}/{name}", r.text(e, name), parse_time)
        return value

    return Info(
        language=r.text(e, "language") or "en-US",
        categories=r.texts(e, "category"),
        event=r.text(e, "event") or "",
        response_types=tuple(ResponseType(v) for v in r.texts(e, "responseType")),
        urgency=Urgency(r.text(e, "urgency") or "Unknown"),
        severity=Severity(r.text(e, "severity") or "Unknown"),
        certainty=Certainty(r.text(e, "certainty") or "Unknown"),
        audience=r.text(e, "audience"),
        event_codes=r.pairs(e, "eventCode"),
        effective=moment("effective"),
        onset=moment("onset"),
        expires=moment("expires"),
        sender_name=r.text(e, "senderName"),
        headline=r.text(e, "headline"),
        description=r.text(e, "description"),
        instruction=r.text(e, "instruction"),
        web=r.text(e, "web"),
        contact=r.text(e, "contact"),
        parameters=r.pairs(e, "parameter"),
        resources=tuple(_resource(r, x) for x in e.findall(NS + "resource")),
        areas=tuple(
            _area(r, x, f"{path}/area[{k + 1}]") for k, x in enumerate(e.findall(NS + "area"))
        ),
    )


def _resource(r: _Reader, e: ET.Element) -> Resource:
    size = r.text(e, "size")
    return Resource(
        description=r.text(e, "resourceDesc") or "",
        mime_type=r.text(e, "mimeType") or "",
        size=int(size) if size and size.isdigit() else None,
        uri=r.text(e, "uri"),
        digest=r.text(e, "digest"),
    )


def _area(r: _Reader, e: ET.Element, path: str) -> Area:
    return Area(
        description=r.text(e, "areaDesc") or "",
        polygons=r.texts(e, "polygon"),
        circles=r.texts(e, "circle"),
        geocodes=r.pairs(e, "geocode"),
        altitude=r.value(f"{path}/altitude", r.text(e, "altitude"), float),
        ceiling=r.value(f"{path}/ceiling", r.text(e, "ceiling"), float),
    )


# -- writing -------------------------------------------------------------------------------


def write_alert(alert: Alert) -> str:
    """The alert as a CAP 1.2 XML document (UTF-8 declared), elements in the schema's order."""
    root = ET.Element(NS + "alert")
    for name, value in (
        ("identifier", alert.identifier),
        ("sender", alert.sender),
        ("sent", format_time(alert.sent)),
        ("status", alert.status.value),
        ("msgType", alert.msg_type.value),
        ("source", alert.source),
        ("scope", alert.scope.value),
        ("restriction", alert.restriction),
        ("addresses", alert.addresses),
        *(("code", c) for c in alert.codes),
        ("note", alert.note),
        ("references", " ".join(alert.references) or None),
        ("incidents", alert.incidents),
    ):
        _add(root, name, value)
    for info in alert.infos:
        _write_info(ET.SubElement(root, NS + "info"), info)
    ET.indent(root)
    return DECLARATION + ET.tostring(root, encoding="unicode", default_namespace=CAP_NAMESPACE)


def _add(parent: ET.Element, name: str, value: str | None) -> None:
    if value is not None:
        ET.SubElement(parent, NS + name).text = value


def _pairs(parent: ET.Element, name: str, pairs: tuple[NamedValue, ...]) -> None:
    for pair in pairs:
        element = ET.SubElement(parent, NS + name)
        _add(element, "valueName", pair.name)
        _add(element, "value", pair.value)


def _time(moment: datetime | None) -> str | None:
    return format_time(moment) if moment is not None else None


def _write_info(e: ET.Element, info: Info) -> None:
    _add(e, "language", info.language)
    for category in info.categories:
        _add(e, "category", category)
    _add(e, "event", info.event)
    for response in info.response_types:
        _add(e, "responseType", response.value)
    for name, value in (
        ("urgency", info.urgency.value),
        ("severity", info.severity.value),
        ("certainty", info.certainty.value),
        ("audience", info.audience),
    ):
        _add(e, name, value)
    _pairs(e, "eventCode", info.event_codes)
    for name, value in (
        ("effective", _time(info.effective)),
        ("onset", _time(info.onset)),
        ("expires", _time(info.expires)),
        ("senderName", info.sender_name),
        ("headline", info.headline),
        ("description", info.description),
        ("instruction", info.instruction),
        ("web", info.web),
        ("contact", info.contact),
    ):
        _add(e, name, value)
    _pairs(e, "parameter", info.parameters)
    for resource in info.resources:
        _write_resource(ET.SubElement(e, NS + "resource"), resource)
    for area in info.areas:
        _write_area(ET.SubElement(e, NS + "area"), area)


def _write_resource(e: ET.Element, resource: Resource) -> None:
    _add(e, "resourceDesc", resource.description)
    _add(e, "mimeType", resource.mime_type)
    _add(e, "size", str(resource.size) if resource.size is not None else None)
    _add(e, "uri", resource.uri)
    _add(e, "digest", resource.digest)


def _write_area(e: ET.Element, area: Area) -> None:
    _add(e, "areaDesc", area.description)
    for polygon in area.polygons:
        _add(e, "polygon", polygon)
    for circle in area.circles:
        _add(e, "circle", circle)
    _pairs(e, "geocode", area.geocodes)
    _add(e, "altitude", f"{area.altitude:g}" if area.altitude is not None else None)
    _add(e, "ceiling", f"{area.ceiling:g}" if area.ceiling is not None else None)
