"""Reporters' status e-mails through the outbox to a real SMTP server (aiosmtpd), on the memory
store, SQLite and PostgreSQL: one report through its lifecycle gives exactly the expected
messages with only its own tracking number, status, answer and links; none after the contact's
retention or after the reporter stopped updates; each send is audited without the address."""

from __future__ import annotations

import email
import logging
import re
from collections.abc import Iterator
from dataclasses import dataclass, replace
from datetime import timedelta
from email.message import Message
from pathlib import Path
from typing import Any

import pytest

from tests.services.report_world import ReportWorld, report_world
from tests.sms_gateway import sms_gateway
from tests.smtp_server import smtp_server
from tocsin.adapters.contact_cipher import AesGcmContactCipher, new_key
from tocsin.adapters.notifiers.email import EmailNotifier
from tocsin.adapters.notifiers.sms import SmsGateway
from tocsin.core.errors import NotFound
from tocsin.core.report_updates import SMS_MAX
from tocsin.core.reports import HandlingAction, Point
from tocsin.core.users import Role, User, UserName
from tocsin.core.warnings.outbox import Channel, DeliveryStatus
from tocsin.services.delivery import DeliveryWorker
from tocsin.services.reporter_mail import GONE, ReporterMail
from tocsin.services.reports import ReportPolicy, Submission

HANDLER = User(UserName("p1"), Role.UNIT_MEMBER, "P1-CP")
BASE = "http://tocsin.test:8080"
A = "first.reporter@example.test"
B = "second.reporter@example.test"


class Inbox:
    """An aiosmtpd handler keeping each accepted message."""

    def __init__(self) -> None:
        self.messages: list[tuple[list[str], Message]] = []

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        """Keep the message."""
        self.messages.append((list(envelope.rcpt_tos), email.message_from_bytes(envelope.content)))
        return "250 OK"


@dataclass
class Mailing:
    world: ReportWorld
    mail: ReporterMail
    worker: DeliveryWorker
    inbox: Inbox

    def deliver(self) -> None:
        self.worker.run_once(self.world.clock.now())

    def act(self, report_id: str, action: HandlingAction, **kw: Any) -> None:
        self.world.service.act(report_id, action, user=HANDLER, **kw)


@pytest.fixture
def smtp() -> Iterator[tuple[Inbox, int]]:
    inbox = Inbox()
    with smtp_server(inbox) as port:
        yield inbox, port


@pytest.fixture
def mailing(store_url: str, tmp_path: Path, smtp: tuple[Inbox, int]) -> Iterator[Mailing]:
    inbox, port = smtp
    policy = ReportPolicy(contact_retention=timedelta(days=30))
    cipher = AesGcmContactCipher(new_key())
    with report_world(store_url, tmp_path / "cfg", policy=policy, cipher=cipher) as world:
        mailer = EmailNotifier(host="127.0.0.1", port=port, sender="tocsin@example.test")
        mail = ReporterMail(world.stores.store, world.clock, cipher, BASE, mailer=mailer)
        worker = DeliveryWorker(world.stores.alerting, {Channel.REPORTER: mail}, clock=world.clock)
        yield Mailing(world, mail, worker, inbox)


def gas(lat: float, *, contact: str | None, note: str) -> Submission:
    return Submission(
        service="gas_smell",
        point=Point(lat, 10.5),
        client="app",
        address_range=f"198.51.100.{int(lat * 1000) % 250}/32",
        description=note,
        attributes={"strength": ["strong"]},
        contact=contact,
    )


def body(msg: Message) -> str:
    payload = msg.get_payload(decode=True)
    assert isinstance(payload, bytes)
    return payload.decode()


def audit_of(world: ReportWorld, kind: str) -> list[Any]:
    with world.stores.store.transaction() as tx:
        return [s.record for s in tx.audit.stored() if kind in s.record.kind]


def test_a_report_through_its_lifecycle_gives_exactly_its_updates(mailing: Mailing) -> None:
    svc, clock = mailing.world.service, mailing.world.clock
    mine = svc.submit(gas(45.5, contact=A, note="smell at the bakery of my street"))
    clock.advance(timedelta(minutes=1))
    other = svc.submit(gas(45.5005, contact=B, note="other reporter's own words"))
    steps = [
        (HandlingAction.ACKNOWLEDGE, {}),
        (HandlingAction.VERIFY, {}),
        (HandlingAction.LINK_INCIDENT, {"target": "inc-1"}),
        (HandlingAction.CLOSE, {"note": "The leak was found and repaired."}),
    ]
    for action, kw in steps:
        clock.advance(timedelta(minutes=5))
        mailing.act(mine.id, action, **kw)
    mailing.act(other.id, HandlingAction.REJECT, note="Not a hazard we handle.")
    mailing.deliver()
    mailing.deliver()  # a second round finds nothing more to send
    to_a = [m for rcpt, m in mailing.inbox.messages if rcpt == [A]]
    to_b = [m for rcpt, m in mailing.inbox.messages if rcpt == [B]]
    assert len(mailing.inbox.messages) == 5
    statuses = [re.search(r"Status: (\w+)", body(m)).group(1) for m in to_a]  # type: ignore[union-attr]
    assert statuses == ["acknowledged", "verified", "linked", "closed"]
    assert "Answer: The leak was found and repaired." in body(to_a[-1])
    assert "Answer: Not a hazard we handle." in body(to_b[0])
    token = mailing.mail.cipher.token(mine.id)
    for msg in to_a:
        text = body(msg)
        assert mine.id in msg["Subject"]
        assert f"Tracking number: {mine.id}" in text
        assert f"{BASE}/report#track={mine.id}" in text
        assert f"{BASE}/report/unsubscribe?report={mine.id}&token={token}" in text
        assert other.id not in text
        assert B not in text
        assert "other reporter" not in text
        assert "45.5" not in text
        assert "bakery" not in text
        assert msg["X-Tocsin-Idempotency-Key"]
        assert msg["To"] == A
    assert len({m["X-Tocsin-Idempotency-Key"] for m in to_a}) == 4
    sent = audit_of(mailing.world, "report.update_sent")
    assert sorted(r.subject_id for r in sent) == sorted([mine.id] * 4 + [other.id])
    assert all(A not in repr(r) and B not in repr(r) for r in audit_of(mailing.world, ""))
    with mailing.world.stores.alerting.transaction() as tx:
        outbox = tx.outbox.find(limit=50)
    assert {n.address for n in outbox} == {mine.id, other.id}  # the report, never the address
    assert all(n.status is DeliveryStatus.DELIVERED for n in outbox)


def test_no_update_after_the_contact_retention(mailing: Mailing) -> None:
    svc, clock = mailing.world.service, mailing.world.clock
    report = svc.submit(gas(45.5, contact=A, note="smell"))
    mailing.act(report.id, HandlingAction.ACKNOWLEDGE)  # queued before the retention ends
    clock.advance(timedelta(days=30, seconds=1))
    mailing.deliver()  # past its retention the contact is not used, deleted yet or not
    assert svc.delete_due_contacts() == 1
    mailing.act(report.id, HandlingAction.CLOSE, note="done")  # nothing queued: no contact
    mailing.deliver()
    assert mailing.inbox.messages == []
    with mailing.world.stores.alerting.transaction() as tx:
        outbox = tx.outbox.find(limit=50)
    assert [(n.status, n.last_error) for n in outbox] == [(DeliveryStatus.FAILED, GONE)]
    assert audit_of(mailing.world, "report.update_sent") == []


def test_unsubscribe_deletes_the_contact_and_stops_updates(mailing: Mailing) -> None:
    svc = mailing.world.service
    report = svc.submit(gas(45.5, contact=A, note="smell"))
    mailing.act(report.id, HandlingAction.ACKNOWLEDGE)
    mailing.deliver()
    ((_, msg),) = mailing.inbox.messages
    link = re.search(r"unsubscribe\?report=(\w+)&token=([\w-]+)", body(msg))
    assert link is not None
    assert link.group(1) == report.id
    mailing.act(report.id, HandlingAction.VERIFY)  # queued before the reporter stops
    with pytest.raises(NotFound) as wrong:
        mailing.mail.unsubscribe(report.id, link.group(2)[:-1] + "x")
    with pytest.raises(NotFound) as unknown:
        mailing.mail.unsubscribe("0000000000000000", link.group(2))
    assert str(wrong.value) == str(unknown.value)  # the refusal tells nothing
    assert mailing.mail.unsubscribe(report.id, link.group(2)) is True
    assert mailing.mail.unsubscribe(report.id, link.group(2)) is False  # used twice: fine
    mailing.act(report.id, HandlingAction.CLOSE, note="done")
    mailing.deliver()
    assert len(mailing.inbox.messages) == 1
    assert svc.handler_view(report.id, user=HANDLER).contact is None
    (record,) = audit_of(mailing.world, "report.unsubscribed")
    assert record.subject_id == report.id
    assert A not in repr(record)


PHONE = "+390551234567"


def test_a_reporter_who_gave_a_phone_number_gets_text_messages(
    mailing: Mailing, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)  # every logger, the HTTP libraries' included
    svc, clock = mailing.world.service, mailing.world.clock
    long_answer = "The leak under the school gate was found and sealed; " * 20
    with sms_gateway() as gateway:
        mail = replace(mailing.mail, sms=SmsGateway(gateway.url, sender="Tocsin"))
        worker = DeliveryWorker(
            mailing.world.stores.alerting, {Channel.REPORTER: mail}, clock=clock
        )
        mine = svc.submit(gas(45.5, contact=PHONE, note="smell near the school"))
        mailing.act(mine.id, HandlingAction.ACKNOWLEDGE)
        clock.advance(timedelta(minutes=5))
        mailing.act(mine.id, HandlingAction.CLOSE, note=long_answer)
        worker.run_once(clock.now())
        worker.run_once(clock.now())
    assert mailing.inbox.messages == []  # a number gets no e-mail
    acknowledged, closed = gateway.messages
    token = mail.cipher.token(mine.id)
    for sent in (acknowledged, closed):
        assert sent["to"] == PHONE
        assert sent["from"] == "Tocsin"
        assert len(sent["text"]) <= SMS_MAX
        assert f"(tracking number {mine.id})" in sent["text"]
        assert f"{BASE}/report#track={mine.id}" in sent["text"]
        assert f"{BASE}/report/unsubscribe?report={mine.id}&token={token}" in sent["text"]
        assert "school" not in sent["text"].split("Answer:")[0]  # no description, no point
    assert acknowledged["text"].startswith("Your report was acknowledged")
    assert closed["text"].startswith("Your report was closed")
    assert "Answer: The leak under the school gate was found and sealed;" in closed["text"]
    assert "…" in closed["text"]  # the long answer shortened to fit three parts
    sent_records = audit_of(mailing.world, "report.update_sent")
    assert [r.details["channel"] for r in sent_records] == ["sms", "sms"]
    assert all(PHONE not in repr(r) for r in audit_of(mailing.world, ""))
    with mailing.world.stores.alerting.transaction() as tx:
        outbox = tx.outbox.find(limit=50)
    assert all(PHONE not in repr(n) for n in outbox)
    assert all(n.status is DeliveryStatus.DELIVERED for n in outbox)
    assert "390551234567" not in caplog.text


def test_without_a_gateway_a_number_fails_its_update_and_says_why(mailing: Mailing) -> None:
    svc = mailing.world.service
    report = svc.submit(gas(45.5, contact=PHONE, note="smell"))
    mailing.act(report.id, HandlingAction.ACKNOWLEDGE)
    mailing.deliver()
    with mailing.world.stores.alerting.transaction() as tx:
        (sent,) = tx.outbox.find(limit=50)
    assert (sent.status, sent.last_error) == (
        DeliveryStatus.FAILED,
        "no SMS gateway is configured",
    )
    assert mailing.inbox.messages == []
