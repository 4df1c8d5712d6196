"""Reporters' status e-mails, sent from the outbox, and the link that stops them.

A handling step writes its reporter's e-mail to the outbox in the step's own transaction
(`core/report_updates.py`); the delivery worker hands it here like any notification (durable,
retried with backoff, at least once under one idempotency key). Only here, at send time, is the
reporter's address opened: a contact deleted after its retention, or withdrawn with the
unsubscribe link, is simply not there any more and the e-mail is dropped (failed, not retried).
The address is never logged, stored in the outbox, or said in an error; each send is audited
without it.
"""

from __future__ import annotations

import hmac
import logging
from dataclasses import dataclass, replace
from urllib.parse import quote

from tocsin.core.audit import AuditRecord
from tocsin.core.errors import NotFound
from tocsin.core.report_updates import Links, update_text
from tocsin.core.warnings.outbox import DeliveryError, Notification
from tocsin.ports import Clock, Store
from tocsin.ports.notifiers import Mailer
from tocsin.ports.reports import ContactCipher

log = logging.getLogger(__name__)

ACTOR = "system:reports"
SHOWN = "the reporter's address"  # what errors say instead of the address
GONE = "no contact any more (deleted after its retention, or updates stopped)"


@dataclass(frozen=True)
class ReporterMail:
    """The reporter channel: opens the contact at send time, sends, audits; and unsubscribes."""

    store: Store
    clock: Clock
    cipher: ContactCipher
    base_url: str  # the public address of this server, as reporters reach it
    mailer: Mailer | None = None  # None: no SMTP host, the channel is not served

    def links(self, report_id: str) -> Links:
        """The tracking page and the unsubscribe link of a report."""
        rid = quote(report_id, safe="")
        token = self.cipher.token(report_id)
        return Links(
            track=f"{self.base_url}/report#track={rid}",
            unsubscribe=f"{self.base_url}/report/unsubscribe?report={rid}&token={token}",
        )

    def send(self, notification: Notification) -> None:
        """Send one status e-mail to the report's reporter; DeliveryError when it cannot go."""
        if self.mailer is None:
            raise DeliveryError("no SMTP host is configured", retryable=False)
        report_id = notification.address
        now = self.clock.now()
        with self.store.transaction() as tx:
            sealed = tx.reports.contact(report_id)
        if sealed is None or sealed.delete_at <= now:
            raise DeliveryError(GONE, retryable=False)
        address = self.cipher.open(sealed.sealed, report_id=report_id)
        body = update_text(notification.payload, self.links(report_id))
        to_reporter = replace(notification, address=address)
        msg = self.mailer.envelope(to_reporter, body=body)
        self.mailer.send_message(msg, address=address, shown=SHOWN)
        details = {"status": notification.payload.get("status"), "key": notification.key}
        record = AuditRecord(
            self.clock.now(), ACTOR, "report.update_sent", "report", report_id, "", details
        )
        with self.store.transaction() as tx:
            tx.audit.append([record])

    def check(self, report_id: str, token: str) -> None:
        """NotFound unless the token is the report's (the same words for a wrong token and
        an unknown report: the refusal tells nothing)."""
        expected = self.cipher.token(report_id).encode()
        if not report_id or not hmac.compare_digest(expected, token.encode()):
            raise NotFound("this link to stop updates is not valid")

    def unsubscribe(self, report_id: str, token: str) -> bool:
        """Stop a reporter's updates: the contact is deleted now (audited, without it); whether
        there was one. NotFound when the link is not valid (`check`)."""
        self.check(report_id, token)
        with self.store.transaction() as tx:
            gone = tx.reports.delete_contact(report_id)
            if gone:
                why = "the reporter stopped updates: contact deleted"
                at = self.clock.now()
                record = AuditRecord(at, ACTOR, "report.unsubscribed", "report", report_id, why)
                tx.audit.append([record])
        return gone
