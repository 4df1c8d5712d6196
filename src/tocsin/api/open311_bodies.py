"""The bodies of the Open311 GeoReport v2 answers, in JSON (typed models) and in XML.

JSON follows the schemas of the GeoReport v2 validator (lists are top-level arrays, codes and
ids are strings, datetimes carry their offset); XML is the same data under the spec's wrapper
elements (`services/service`, `service_requests/request`, `errors/error`), UTF-8, no namespace.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from datetime import datetime
from typing import Any, Literal
from xml.etree import ElementTree as ET

from pydantic import BaseModel

from tocsin.core.report_types import Datatype, ReportAttribute, ReportType
from tocsin.core.reports import Report

# what XML 1.0 cannot carry: C0 controls but tab and line breaks, surrogates, U+FFFE, U+FFFF
NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")


class ServiceOut(BaseModel):
    """One service (a hazard report type)."""

    service_code: str
    service_name: str
    description: str | None
    metadata: bool
    type: Literal["realtime", "batch", "blackbox"]
    keywords: str | None
    group: str | None


class ValueOut(BaseModel):
    """One choice of a list attribute."""

    key: str
    name: str


class AttributeOut(BaseModel):
    """One question of a service."""

    variable: bool
    code: str
    datatype: Datatype
    required: bool
    datatype_description: str | None
    order: int
    description: str
    values: list[ValueOut]


class ServiceDefinitionOut(BaseModel):
    """A service's questions."""

    service_code: str
    attributes: list[AttributeOut]


class RequestOut(BaseModel):
    """One service request (a public report) as the public sees it: coarsened point, no
    personal field."""

    service_request_id: str
    status: Literal["open", "closed"]
    status_notes: str | None
    service_name: str | None
    service_code: str
    description: str | None
    agency_responsible: str | None
    service_notice: str | None
    requested_datetime: datetime
    updated_datetime: datetime | None
    expected_datetime: datetime | None
    address: str | None
    address_id: str | None
    zipcode: str | None
    lat: float | None
    long: float | None
    media_url: str | None


class PostedOut(BaseModel):
    """The answer to a posted request: its id (services are `realtime`: no token)."""

    service_request_id: str


class TokenOut(BaseModel):
    """A token's request id."""

    service_request_id: str
    token: str


class Open311Error(BaseModel):
    """One error (GeoReport v2 error format)."""

    code: int
    description: str


class EndpointOut(BaseModel):
    """One endpoint of the discovery document."""

    specification: str
    url: str
    changeset: datetime
    type: Literal["production", "test"]
    formats: list[str]


class DiscoveryOut(BaseModel):
    """The service discovery document."""

    changeset: datetime
    contact: str
    key_service: str
    endpoints: list[EndpointOut]


def service_out(rtype: ReportType) -> ServiceOut:
    """A report type as an Open311 service."""
    return ServiceOut(
        service_code=rtype.code,
        service_name=rtype.name,
        description=rtype.description or None,
        metadata=bool(rtype.attributes),
        type="realtime",
        keywords=", ".join(rtype.keywords) or None,
        group=rtype.domain,
    )


def _attribute(a: ReportAttribute) -> AttributeOut:
    return AttributeOut(
        variable=a.variable,
        code=a.code,
        datatype=a.datatype,
        required=a.required,
        datatype_description=None,
        order=a.order,
        description=a.description,
        values=[ValueOut(key=v.key, name=v.name) for v in a.values],
    )


def definition_out(rtype: ReportType) -> ServiceDefinitionOut:
    """A report type's questions."""
    return ServiceDefinitionOut(
        service_code=rtype.code, attributes=[_attribute(a) for a in rtype.attributes]
    )


def request_out(
    report: Report,
    *,
    rtype: ReportType | None,
    unit_name: str | None,
    media_url: str | None,
) -> RequestOut:
    """A (public view of a) report as an Open311 request; the status note is the latest
    public update's note. The point is the coarsened one; the address sent with it is left
    out (a street and number would undo the coarsening)."""
    closed = report.open311_status == "closed"
    return RequestOut(
        service_request_id=report.id,
        status="closed" if closed else "open",
        status_notes=report.status_note or None,
        service_name=rtype.name if rtype else None,
        service_code=report.service,
        description=report.description or None,
        agency_responsible=unit_name,
        service_notice=None,
        requested_datetime=report.requested_at,
        updated_datetime=report.updated_at,
        expected_datetime=None,
        address=None,  # as exact as the point it names: the handling unit's, like the point
        address_id=None,
        zipcode=None,
        lat=report.point.lat,
        long=report.point.lon,
        media_url=media_url,
    )


def _text(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, datetime):
        return value.isoformat().replace("+00:00", "Z")
    return NOT_XML.sub("\ufffd", str(value))  # stored before the form refused them, or a note


def _append(parent: ET.Element, name: str, value: Any) -> None:
    """One field as an element (lists of models as repeated children of a wrapper)."""
    child = ET.SubElement(parent, name)
    if isinstance(value, list):
        item = name[:-1] if name.endswith("s") else name
        for entry in value:
            _append(child, item, entry)
    elif isinstance(value, BaseModel):
        for key, inner in value.model_dump().items():
            if inner is not None:
                _append(child, key, getattr(value, key) if isinstance(inner, list) else inner)
    elif value is not None:
        child.text = _text(value)


def xml_document(root: str, item: str, entries: Sequence[BaseModel] | BaseModel) -> bytes:
    """An XML document: `root` holding one `item` element per entry (or `root` as the entry)."""
    if isinstance(entries, BaseModel):
        top = ET.Element(root)
        for key, value in entries.model_dump().items():
            if value is not None:
                _append(top, key, getattr(entries, key) if isinstance(value, list) else value)
    else:
        top = ET.Element(root)
        for entry in entries:
            _append(top, item, entry)
    body: bytes = ET.tostring(top, encoding="utf-8", xml_declaration=False)
    return b'<?xml version="1.0" encoding="UTF-8"?>\n' + body
