"""A delivery worker killed (SIGKILL) while it hands a reporter's e-mail to a real SMTP server,
then restarted after its lease ran out, on SQLite and PostgreSQL: every update is accepted by
the server exactly once, the one cut mid-send included (it was never accepted, so it is sent
again under its key)."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
from collections import Counter
from datetime import timedelta
from pathlib import Path
from typing import Any

from tests.services.report_world import report_world
from tests.smtp_server import smtp_server
from tocsin.adapters.contact_cipher import AesGcmContactCipher, new_key
from tocsin.core.reports import HandlingAction, Point
from tocsin.core.users import Role, User, UserName
from tocsin.core.warnings.outbox import DeliveryStatus
from tocsin.services.reports import ReportPolicy, Submission

HANDLER = User(UserName("p1"), Role.UNIT_MEMBER, "P1-CP")
REPO = Path(__file__).resolve().parents[2]
REPORTS = 5
KILL_AT = 2  # the worker dies while it sends the 2nd message


class KillingInbox:
    """Accepts messages; on the KILL_AT-th it kills the worker before answering."""

    def __init__(self) -> None:
        self.keys: list[str] = []
        self.seen = 0
        self.worker: subprocess.Popen[bytes] | None = None
        self.cut: str | None = None

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        """Kill the worker mid-send once; else accept and keep the message's key."""
        key = next(
            line.split(b":", 1)[1].strip().decode()
            for line in envelope.content.splitlines()
            if line.lower().startswith(b"x-tocsin-idempotency-key:")
        )
        self.seen += 1
        if self.seen == KILL_AT and self.worker is not None:
            self.cut = key
            os.kill(self.worker.pid, signal.SIGKILL)
            await asyncio.to_thread(self.worker.wait, 30)
            return "451 the sender went away"
        self.keys.append(key)
        return "250 OK"


def worker(url: str, key: str, port: int, at: str) -> subprocess.Popen[bytes]:
    env = {**os.environ, "TOCSIN_ENV": "dev", "PYTHONPATH": f"{REPO / 'src'}:{REPO}"}
    args = [sys.executable, "-m", "tests.services.reporter_worker", url, key, str(port), at]
    return subprocess.Popen(args, env=env, cwd=REPO, stderr=subprocess.PIPE)


def test_a_killed_worker_restarted_sends_each_update_once(db_url: str, tmp_path: Path) -> None:
    key = new_key()
    policy = ReportPolicy(contact_retention=timedelta(days=30))
    with report_world(
        db_url, tmp_path / "cfg", policy=policy, cipher=AesGcmContactCipher(key)
    ) as w:
        for i in range(REPORTS):
            w.clock.advance(timedelta(minutes=1))
            sub = Submission(
                service="gas_smell",
                point=Point(45.5 + i * 0.01, 10.5),
                client="app",
                address_range="198.51.100.0/24",
                description=f"smell {i}",
                attributes={"strength": ["strong"]},
                contact=f"reporter{i}@example.test",
            )
            report = w.service.submit(sub)
            w.service.act(report.id, HandlingAction.ACKNOWLEDGE, user=HANDLER)
        with w.stores.alerting.transaction() as tx:
            expected = {n.key for n in tx.outbox.find(limit=50)}
        now = w.clock.now()
        inbox = KillingInbox()
        with smtp_server(inbox) as port:
            inbox.worker = first = worker(db_url, key, port, now.isoformat())
            first.communicate(timeout=60)
            assert first.returncode == -signal.SIGKILL
            after_lease = (now + timedelta(minutes=1)).isoformat()
            second = worker(db_url, key, port, after_lease)
            _, err = second.communicate(timeout=60)
            assert second.returncode == 0, err.decode()
        with w.stores.alerting.transaction() as tx:
            stored = tx.outbox.find(limit=50)
    assert len(expected) == REPORTS
    assert inbox.cut in expected
    assert Counter(inbox.keys) == Counter(expected)  # each accepted exactly once
    assert {n.status for n in stored} == {DeliveryStatus.DELIVERED}
