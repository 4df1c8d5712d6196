"""Reporters' status updates, sent from the outbox, and the link that stops them.

A handling step writes its reporter's update to the outbox in the step's own transaction
(`core/report_updates.py`); the delivery worker hands it here like any notification (durable,
retried with backoff, at least once under one idempotency key). Only here, at send time, is the
reporter's contact opened: an e-mail address gets an e-mail through the SMTP channel, a phone
number a text message through the SMS gateway (`adapters/notifiers/sms.py`). A contact deleted
after its retention, or withdrawn with the unsubscribe link, is simply not there any more and
the update is dropped (failed, not retried). The contact is never logged, stored in the outbox,
or said in an error; each send is audited without it.
"""

from __future__ import annotations

import hmac
import logging
from dataclasses import dataclass, replace
from urllib.parse import quote

from tocsin.core.audit import AuditRecord
from tocsin.core.contacts import is_email
from tocsin.core.errors import NotFound
from tocsin.core.report_updates import Links, update_sms, update_text
from tocsin.core.warnings.outbox import DeliveryError, Notification
from tocsin.ports import Clock, Store
from tocsin.ports.notifiers import Mailer, TextSender
from tocsin.ports.reports import ContactCipher

log = logging.getLogger(__name__)

ACTOR = "system:reports"
SHOWN = "the reporter's address"  # what errors say instead of the address
SHOWN_NUMBER = "the reporter's phone number"
GONE = "no contact any more (deleted after its retention, or updates stopped)"


@dataclass(frozen=True)
class ReporterMail:
    """The reporter channel: opens the contact at send time, sends (e-mail or SMS), audits; and
    unsubscribes."""

    store: Store
    clock: Clock
    cipher: ContactCipher
    base_url: str  # the public address of this server, as reporters reach it
    mailer: Mailer | None = None  # None: no SMTP host, no e-mail updates
    sms: TextSender | None = None  # None: no SMS gateway, no text-message updates

    @property
    def serves(self) -> bool:
        """Whether any update can go out (an SMTP host or an SMS gateway)."""
        return self.mailer is not None or self.sms is not None

    def links(self, report_id: str) -> Links:
        """The tracking page and the unsubscribe link of a report."""
        rid = quote(report_id, safe="")
        token = self.cipher.token(report_id)
        return Links(
            track=f"{self.base_url}/report#track={rid}",
            unsubscribe=f"{self.base_url}/report/unsubscribe?report={rid}&token={token}",
        )

    def send(self, notification: Notification) -> None:
        """Send one status update to the report's reporter (an e-mail, or a text message to a
        phone number); DeliveryError when it cannot go."""
        report_id = notification.address
        now = self.clock.now()
        with self.store.transaction() as tx:
            sealed = tx.reports.contact(report_id)
        if sealed is None or sealed.delete_at <= now:
            raise DeliveryError(GONE, retryable=False)
        contact = self.cipher.open(sealed.sealed, report_id=report_id)
        links = self.links(report_id)
        if is_email(contact):
            if self.mailer is None:
                raise DeliveryError("no SMTP host is configured", retryable=False)
            body = update_text(notification.payload, links)
            msg = self.mailer.envelope(replace(notification, address=contact), body=body)
            self.mailer.send_message(msg, address=contact, shown=SHOWN)
            channel = "email"
        else:
            if self.sms is None:
                raise DeliveryError("no SMS gateway is configured", retryable=False)
            text = update_sms(notification.payload, links)
            self.sms.send_text(contact, text, key=notification.key, shown=SHOWN_NUMBER)
            channel = "sms"
        details = {
            "status": notification.payload.get("status"),
            "key": notification.key,
            "channel": channel,
        }
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
