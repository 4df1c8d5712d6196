"""CAP XML for the services: writing and checking our messages, rendering the Atom feed, and
reading other agencies' documents (the `CapCodec` and `CapReader` ports)."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from collections.abc import Sequence
from datetime import datetime

from tocsin.adapters.cap import feeds
from tocsin.adapters.cap.documents import parse_untrusted, read_alert, write_alert
from tocsin.adapters.cap.feeds import atom_entry, atom_feed, read_document
from tocsin.adapters.cap.schema import CapSchema
from tocsin.core.cap.lifecycle import PublicAlert
from tocsin.core.cap.message import Alert
from tocsin.core.errors import InvalidInput, Problem
from tocsin.ports.cap_imports import ReadAlert, ReadDocument

OWN_LIMIT = 64 * 1024 * 1024  # our own documents are checked whatever their size


class XmlCap:
    """The CAP codec over one schema, publishing under one base URL."""

    def __init__(self, schema: CapSchema, *, base_url: str, title: str, author: str) -> None:
        self.schema = schema
        self.base_url = base_url.rstrip("/")
        self.title = title
        self.author = author

    def url(self, identifier: str) -> str:
        """The stable URL of a published alert's CAP document."""
        return f"{self.base_url}/cap/{identifier}.xml"

    def write(self, alert: Alert) -> str:
        """The alert as a CAP 1.2 document."""
        return write_alert(alert)

    def check(self, xml: str, *, where: str) -> list[Problem]:
        """The schema's objections to a document we wrote."""
        root = parse_untrusted(xml.encode(), where=where, max_bytes=OWN_LIMIT)
        return self.schema.problems(root, where=where)

    def entry(self, alert: PublicAlert, *, language: str | None) -> str:
        """The alert's Atom entry in a language."""
        page = f"{self.base_url}/cap/#{alert.identifier}"
        return atom_entry(alert, language=language, url=self.url(alert.identifier), page=page)

    def embedded(self, entry: bytes, document: str) -> bytes:
        """The entry with its CAP document in its content."""
        return feeds.embedded(entry, document)

    def feed(self, entries: Sequence[bytes], *, self_url: str, updated: datetime) -> bytes:
        """An Atom feed of entries."""
        return atom_feed(
            entries,
            feed_id=f"{self.base_url}/cap/feed.atom",
            title=self.title,
            self_url=self_url,
            updated=updated,
            author=self.author,
        )

    def read(self, data: bytes, *, where: str, max_bytes: int) -> ReadDocument:
        """Every alert of an untrusted document, each checked against the schema; InvalidInput
        naming every problem when any alert is invalid (the document is refused whole)."""
        document = read_document(data, where=where, max_bytes=max_bytes)
        problems: list[Problem] = []
        alerts: list[ReadAlert] = []
        for embedded in document.alerts:
            found = self.schema.problems(embedded.element, where=embedded.where)
            if found:
                problems += found
                continue
            try:
                alert = read_alert(embedded.element, where=embedded.where)
            except InvalidInput as err:
                problems += err.problems
                continue
            xml = ET.tostring(embedded.element, encoding="unicode")
            alerts.append(ReadAlert(alert, xml, embedded.where))
        if problems:
            raise InvalidInput(problems)
        links = tuple((link.href, link.entry_id, link.updated) for link in document.links)
        return ReadDocument(document.kind, tuple(alerts), links)
