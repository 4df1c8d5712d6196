"""A local SMS gateway for the tests: a real HTTP server on 127.0.0.1 that answers Kannel's
`sendsms` request as Kannel does (202 "0: Accepted for delivery") and keeps each message; the
answer can be set to a failure."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler
from urllib.parse import parse_qs, urlsplit

from tests.http_server import local_http_server


@dataclass
class Gateway:
    """What the gateway received, and what it answers next."""

    url: str = ""
    messages: list[dict[str, str]] = field(default_factory=list)
    status: int = 202
    answer: str = "0: Accepted for delivery"


@contextmanager
def sms_gateway() -> Iterator[Gateway]:
    """Serve `/cgi-bin/sendsms` on a free port; yields the gateway (its `url` set)."""
    gateway = Gateway()

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            split = urlsplit(self.path)
            if split.path != "/cgi-bin/sendsms":
                self.send_error(404)
                return
            query = {k: v[0] for k, v in parse_qs(split.query, keep_blank_values=True).items()}
            if gateway.status < 300:
                gateway.messages.append(query)
            data = gateway.answer.encode()
            self.send_response(gateway.status)
            self.send_header("Content-Type", "text/plain")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def log_message(self, *_: object) -> None:
            return

    with local_http_server(Handler) as port:
        gateway.url = f"http://127.0.0.1:{port}/cgi-bin/sendsms"
        yield gateway
