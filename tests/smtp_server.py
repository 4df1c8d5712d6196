"""A real SMTP server (aiosmtpd) on 127.0.0.1 for the e-mail tests, with the handler given."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from aiosmtpd.controller import Controller

from tocsin.testing.postgres import free_port


@contextmanager
def smtp_server(handler: Any) -> Iterator[int]:
    """Serve SMTP with `handler` (an aiosmtpd handler) on a free port; yields the port."""
    port = free_port()
    controller = Controller(handler, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        yield port
    finally:
        controller.stop()
