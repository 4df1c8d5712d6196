"""The report gate: the lean ASGI path of a form-encoded Open311 report
(`POST /open311/v2/requests.json` or `.xml`, `application/x-www-form-urlencoded`: what apps
send), in front of the FastAPI application.

It stands behind the request guard, which has already read the body within the size limit.
The application takes these posts into a lane of their own ahead of FastAPI's middleware
(`tocsin.api.app.TocsinAPI`): security headers, the request guard (sharing the application's
rates), this gate. Nothing else in FastAPI's stack acts on them: a report's answer is too small
to compress and the gate answers its own errors. The stack it skips took about 7 % of the
server's time per report (py-spy on `bench/reports.py`, before the lane).
The form is parsed as the route reads it (`open311_forms.url_encoded_fields`: fields split on
`&`, `+` and percent escapes and raw bytes decoded as UTF-8, a field that is not UTF-8 refused,
at most 100 fields) and answered exactly as the route does (`tocsin.api.open311.post_form`),
but on the event loop: the report is checked and routed there (no I/O) and handed to the
reports' group committer, and the answer waits on the commit without holding a worker thread.
A multipart form (a photo) and every other request go on to the application unchanged.
"""

from __future__ import annotations

from tocsin.api.asgi import ASGIApp, Receive, Scope, Send
from tocsin.api.limits import header
from tocsin.api.open311 import BASE, error_answer, post_form
from tocsin.api.open311_forms import url_encoded_fields
from tocsin.bootstrap import Container
from tocsin.core import errors

FORM = "application/x-www-form-urlencoded"
PATHS = {f"{BASE}/requests.{fmt}": fmt for fmt in ("json", "xml")}


def report_form(scope: Scope) -> str | None:
    """The answer's format ("json", "xml") when the request is a form-encoded report post
    (what the gate serves); None for any other request."""
    fmt = PATHS.get(scope.get("path", "")) if scope["type"] == "http" else None
    if fmt is None or scope["method"] != "POST":
        return None
    media = (header(scope, b"content-type") or "").split(";")[0].strip().lower()
    return fmt if media == FORM else None


class ReportGate:
    """The ASGI middleware serving form-encoded report posts."""

    def __init__(self, app: ASGIApp, *, container: Container) -> None:
        self.app = app
        self.container = container

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """The ASGI entry point."""
        fmt = report_form(scope)
        if fmt is None:
            await self.app(scope, receive, send)
            return
        body = await _body(receive)
        if body is None:
            return  # the client went away: nothing to answer, nothing stored
        client = scope.get("client") or ("unknown", 0)
        try:  # an unexpected error is its lane's to answer (lanes.py)
            fields = url_encoded_fields(body)
        except errors.InvalidInput as err:
            response = error_answer(fmt, err)
        else:
            response = await post_form(self.container, fmt, fields, client=str(client[0]))
        await response(scope, receive, send)


async def _body(receive: Receive) -> bytes | None:
    """The whole body (the request guard has limited it); None when the client left."""
    chunks: list[bytes] = []
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            return None
        chunks.append(message.get("body", b""))
        if not message.get("more_body", False):
            return b"".join(chunks)
