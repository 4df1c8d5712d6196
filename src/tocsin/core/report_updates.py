"""Status updates to a public report's reporter: which steps send one, and what it says.

A reporter who gave an e-mail address reads each handling step (acknowledged, verified, marked
duplicate, linked to an incident, rejected, closed) as a short e-mail: the tracking number, the
new status, the unit's public answer and links to the tracking page and to stop the updates. A
reporter who gave a phone number gets the same as a text message of at most `SMS_MAX`
characters (the answer shortened to fit: three concatenated parts of 153 GSM characters).
Nothing else: no point, no description, nothing of another report. The notification stored in
the outbox names the report, never the address: the address is opened only when it is sent
(`services/reporter_mail.py`), so a contact deleted or withdrawn in between stops it.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Final

from tocsin.core.reports import OPEN311_STATUS, Report, ReportStatus, ReportUpdate
from tocsin.core.warnings.outbox import Channel, Notification, NotificationKind, PayloadFormat

RECEIVER: Final = "reporter"
# the statuses a reporter is told of (received is answered by the tracking number itself)
NOTIFIED: Final = frozenset(s for s in ReportStatus if s is not ReportStatus.RECEIVED)
HEADINGS: Final[Mapping[ReportStatus, str]] = {
    ReportStatus.ACKNOWLEDGED: "Your report was acknowledged",
    ReportStatus.VERIFIED: "Your report was verified",
    ReportStatus.DUPLICATE: "Your report was marked as a duplicate",
    ReportStatus.LINKED: "Your report was linked to an ongoing incident",
    ReportStatus.REJECTED: "Your report was rejected",
    ReportStatus.CLOSED: "Your report was closed",
}


def update_key(report_id: str, update: ReportUpdate) -> str:
    """The idempotency key of one update's e-mail (the same step gives the same key)."""
    digest = hashlib.sha256(f"{report_id}|{update.status}|{update.at.isoformat()}".encode())
    return "rpt-" + digest.hexdigest()[:40]


def status_update(report: Report, update: ReportUpdate) -> Notification | None:
    """The e-mail a step sends its reporter, None when none goes (no contact kept, or a
    status the reporter is not told of)."""
    if not report.has_contact or update.status not in NOTIFIED:
        return None
    payload = {
        "tracking": report.id,
        "status": update.status.value,
        "open311_status": OPEN311_STATUS[update.status],
        "answer": update.note,
    }
    return Notification(
        key=update_key(report.id, update),
        kind=NotificationKind.REPORT_STATUS,
        receiver=RECEIVER,
        channel=Channel.REPORTER,
        address=report.id,
        format=PayloadFormat.TOCSIN,
        subject=f"{HEADINGS[update.status]} (tracking number {report.id})",
        payload=payload,
        created_at=update.at,
        next_attempt_at=update.at,
        reason=f"report {report.id} is {update.status.value}",
    )


@dataclass(frozen=True, slots=True)
class Links:
    """Where the reporter follows the report and stops the updates."""

    track: str
    unsubscribe: str


def update_text(payload: Mapping[str, Any], links: Links) -> str:
    """The e-mail's plain-text body: tracking number, status, answer, the two links."""
    status = ReportStatus(str(payload["status"]))
    lines = [
        HEADINGS[status] + ".",
        "",
        f"Tracking number: {payload['tracking']}",
        f"Status: {status.value} ({payload['open311_status']})",
        f"Answer: {payload['answer']}",
        "",
        f"Follow your report: {links.track}",
        "",
        "You receive these updates because you gave this address with your report. It is",
        "deleted after the retention period, or now if you stop the updates:",
        links.unsubscribe,
    ]
    return "\n".join(lines) + "\n"


SMS_MAX: Final = 459  # three parts of a concatenated SMS (3 x 153 GSM 03.38 characters)


def update_sms(payload: Mapping[str, Any], links: Links) -> str:
    """The text message: status, tracking number, the answer as far as it fits, both links."""
    status = ReportStatus(str(payload["status"]))
    head = f"{HEADINGS[status]} (tracking number {payload['tracking']})."
    tail = f" Follow it: {links.track} Stop updates: {links.unsubscribe}"
    answer = str(payload.get("answer") or "").strip()
    room = SMS_MAX - len(head) - len(tail) - len(" Answer: ")
    if answer and room > 10:
        shown = answer if len(answer) <= room else answer[: room - 1].rstrip() + "…"
        return f"{head} Answer: {shown}{tail}"
    return head + tail
