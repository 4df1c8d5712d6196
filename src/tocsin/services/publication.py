"""Publication, shared by people and by configuration: drafting CAP messages (`Drafter`) and
the one way a message leaves Tocsin (`Publisher`).

`Publisher.publish` runs inside a pipeline session: it stamps `sent`, points `references` at the
thread's current message, writes the XML and checks it — the OASIS schema first, then the rules
the schema cannot express (`core/cap/rules.py`) — and only then stores the published alert with
its feed entries, supersedes the message it replaces, and writes its subscribers' notifications
to the outbox, all in the session's one transaction. A message that fails a check is not
published; `check` says which rule failed and where.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any

from tocsin.core.audit import AuditRecord
from tocsin.core.cap import rules
from tocsin.core.cap.areas import region_area
from tocsin.core.cap.config import CapConfig
from tocsin.core.cap.drafting import DraftRequest, draft_alert, new_identifier
from tocsin.core.cap.lifecycle import AlertCommand, PublicAlert, apply
from tocsin.core.cap.message import Alert, Area, Certainty, MsgType, Urgency
from tocsin.core.cap.subscribers import notifications
from tocsin.core.catalog import Catalog
from tocsin.core.domains import DomainCode
from tocsin.core.errors import Conflict, InvalidInput, NotFound, Problem
from tocsin.core.levels import Level
from tocsin.core.regions import Region, RegionCode
from tocsin.core.warnings.model import Warning
from tocsin.core.warnings.outbox import Notification
from tocsin.ports import AlertingSession
from tocsin.ports.public_alerts import FIRST_LANGUAGE, CapCodec
from tocsin.services.delivery import Handoff


@dataclass(frozen=True, slots=True)
class Choices:
    """What the issuer sets on a draft (None: proposed from the warning and configuration);
    `texts` holds their own words per language and field (event, headline, description,
    instruction)."""

    urgency: Urgency | None = None
    certainty: Certainty | None = None
    onset: datetime | None = None
    expires: datetime | None = None
    texts: Mapping[str, Mapping[str, str]] = field(default_factory=dict)


class Drafter:
    """CAP messages from warnings or requests: areas from the regions' geometry (kept, as
    simplifying a detailed shape takes a while), texts from configuration."""

    def __init__(self, catalog: Catalog, config: CapConfig) -> None:
        self.catalog = catalog
        self.config = config
        self._areas: dict[str, Area] = {}

    def regions(self, codes: Iterable[str]) -> tuple[Region, ...]:
        """The catalogue's regions for codes; InvalidInput naming the unknown ones."""
        tree = self.catalog.regions
        wanted = list(dict.fromkeys(codes))
        unknown = [c for c in wanted if c not in tree]
        if unknown or not wanted:
            reason = f"unknown region(s) {', '.join(unknown)}" if unknown else "none given"
            raise InvalidInput([Problem("regions", "region", reason)])
        return tuple(tree.regions[RegionCode(c)] for c in wanted)

    def area(self, region: Region) -> Area:
        """The CAP area of a region (computed once)."""
        found = self._areas.get(region.code)
        if found is None:
            found = self._areas[region.code] = region_area(
                region,
                max_points=self.config.max_points,
                max_polygons=self.config.max_polygons,
                geocode_name=self.config.geocode_name,
            )
        return found

    def chain(self, domain: str) -> tuple[str, ...]:
        """The domain and its ancestors (templates and auto-publication follow them)."""
        return (domain, *self.catalog.domain_ancestors(DomainCode(domain)))

    def request(
        self,
        *,
        regions: Sequence[str],
        domain: str,
        level: Level,
        warning: Warning | None,
        choices: Choices,
    ) -> DraftRequest:
        """A draft request for regions, a domain and a level."""
        found = self.catalog.domains.get(DomainCode(domain))
        if found is None:
            raise InvalidInput([Problem("domain", "domain", f"unknown domain {domain!r}")])
        return DraftRequest(
            regions=self.regions(regions),
            domain=found,
            domain_chain=self.chain(domain),
            level=level,
            warning=warning,
            urgency=choices.urgency,
            certainty=choices.certainty,
            onset=choices.onset,
            expires=choices.expires,
            texts=choices.texts,
        )

    def message(self, request: DraftRequest, *, now: datetime, identifier: str) -> Alert:
        """The CAP alert the request asks for."""
        areas = tuple(self.area(r) for r in request.regions)
        return draft_alert(request, config=self.config, areas=areas, identifier=identifier, now=now)

    def identifier(self, now: datetime) -> str:
        """A new identifier under the configured prefix."""
        return new_identifier(self.config.identifier_prefix, now, uuid.uuid4().hex[:12])

    def check_texts(self, choices: Choices) -> None:
        """InvalidInput when the issuer's texts name a language or field that is not drafted."""
        problems = [
            Problem(f"texts.{lang}", "language", f"not a configured language ({lang})")
            for lang in choices.texts
            if lang not in self.config.languages
        ]
        problems += [
            Problem(
                f"texts.{lang}.{name}", "field", "one of event, headline, description, instruction"
            )
            for lang, fields in choices.texts.items()
            for name in fields
            if name not in ("event", "headline", "description", "instruction")
        ]
        if problems:
            raise InvalidInput(problems)


@dataclass
class Published:
    """What a publication wrote: audit records, and notifications to hand off after commit."""

    records: list[AuditRecord] = field(default_factory=list)
    handed: list[Notification] = field(default_factory=list)


class Publisher:
    """Checks a message and publishes it: XML, schema, rules, feed entries, subscribers."""

    def __init__(self, codec: CapCodec, config: CapConfig, handoff: Handoff) -> None:
        self.codec = codec
        self.config = config
        self.handoff = handoff

    def check(self, message: Alert, *, where: str = "alert") -> tuple[str, list[Problem]]:
        """The message's XML and every problem: the schema's, then the rules'."""
        xml = self.codec.write(message)
        return xml, [*self.codec.check(xml, where=where), *rules.check(message)]

    def stamped(self, tx: AlertingSession, alert: PublicAlert, *, now: datetime) -> Alert:
        """The message as it will leave: sent now, referring to its thread's current message."""
        message = replace(alert.message, sent=now)
        if message.msg_type is MsgType.ALERT:
            return message
        current = tx.public_alerts.current(alert.thread)
        if current is None or current.identifier == alert.identifier:
            raise Conflict(
                f"public alert {alert.identifier} is an {message.msg_type.value} but nothing "
                "of its thread is published"
            )
        return replace(message, references=(current.message.reference(),))

    def publish(
        self,
        tx: AlertingSession,
        alert: PublicAlert,
        *,
        actor: str,
        reason: str,
        now: datetime,
        auto: bool = False,
    ) -> tuple[PublicAlert, Published]:
        """Publish an approved alert in this session (InvalidInput, naming each failed check,
        when the message does not pass; nothing is then written)."""
        message = self.stamped(tx, alert, now=now)
        xml, problems = self.check(message)
        if problems:
            raise InvalidInput(problems)
        current = tx.public_alerts.current(alert.thread)
        changes: dict[str, Any] = {
            "message": message,
            "xml": xml,
            "published_at": now,
            "expires_at": message.expires,
            "auto": auto,
        }
        published, record = apply(
            alert, AlertCommand.PUBLISH, actor=actor, reason=reason, now=now, changes=changes
        )
        out = Published([record])
        tx.public_alerts.save(published, entries=self.entries(published))
        if current is not None and current.identifier != published.identifier:
            why = f"replaced by {published.msg_type.value} {published.identifier}"
            old, superseded = apply(
                current, AlertCommand.SUPERSEDE, actor=actor, reason=why, now=now
            )
            tx.public_alerts.save(old)
            out.records.append(superseded)
        notes = notifications(
            published,
            self.config.subscribers,
            url=self.url(published.identifier),
            now=now,
        )
        rows, out.handed = self.handoff.prepare(notes, now)
        tx.outbox.add(rows)
        tx.audit.append(out.records)
        return published, out

    def entries(self, alert: PublicAlert) -> dict[str, str]:
        """The alert's feed entries: its first info block's, and one per language, under its
        tag and its primary tag (`fr-fr` and `fr`), lower-cased."""
        out = {FIRST_LANGUAGE: self.codec.entry(alert, language=None)}
        for language in alert.languages:
            entry = self.codec.entry(alert, language=language)
            out.setdefault(language.lower(), entry)
            out.setdefault(language.split("-")[0].lower(), entry)
        return out

    def url(self, identifier: str) -> str:
        """The stable URL of a published alert's CAP document."""
        return f"{self.config.base_url.rstrip('/')}/cap/{identifier}.xml"


def missing(identifier: str) -> NotFound:
    """The error for an identifier no public alert has."""
    return NotFound(f"no public alert {identifier!r}")
