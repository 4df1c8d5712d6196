"""A delivery worker for reporters' e-mails in a process of its own, for the kill test:
`python -m tests.services.reporter_worker URL CONTACT_KEY SMTP_PORT AT` sends one notification
per round (each outcome recorded after its send) at the fixed moment AT until nothing is due."""

from __future__ import annotations

import sys
from datetime import datetime

from tocsin.adapters.contact_cipher import AesGcmContactCipher
from tocsin.adapters.notifiers.email import EmailNotifier
from tocsin.bootstrap import open_stores
from tocsin.core.warnings.outbox import Channel
from tocsin.services.delivery import DeliveryWorker
from tocsin.services.reporter_mail import ReporterMail
from tocsin.testing.clock import FakeClock


def main(url: str, key: str, port: str, at: str) -> None:
    """Deliver until a round finds nothing due."""
    stores = open_stores(url, create=False)
    clock = FakeClock(datetime.fromisoformat(at))
    mailer = EmailNotifier(host="127.0.0.1", port=int(port), timeout_s=30)
    mail = ReporterMail(stores.store, clock, AesGcmContactCipher(key), "http://t", mailer=mailer)
    worker = DeliveryWorker(stores.alerting, {Channel.REPORTER: mail}, batch=1, clock=clock)
    try:
        while True:
            done = worker.run_once(clock.now())
            if done.delivered + done.retried + done.failed == 0:
                return
    finally:
        stores.close()


if __name__ == "__main__":
    main(*sys.argv[1:5])
