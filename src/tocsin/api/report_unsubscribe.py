"""The link in a reporter's status e-mail that stops the updates (public: the reporter has no
account; the token in the link is the proof).

`GET` shows a page with one button (mail scanners that open links change nothing); `POST`
deletes the reporter's contact at once. Both are rate-limited per address range, and a wrong
token and an unknown report are refused with the same words.
"""

from __future__ import annotations

import threading
from html import escape
from typing import Annotated

from fastapi import APIRouter, Form, Query, Request
from fastapi.responses import HTMLResponse

from tocsin.api.auth import container_of
from tocsin.api.problems import json_problems
from tocsin.api.rates import TokenBucket
from tocsin.core.errors import NotFound, RateLimited
from tocsin.core.report_abuse import address_range
from tocsin.services.reporter_mail import ReporterMail

# a link cut short (no report or no token) is refused like a wrong one: 404, not 422
ReportId = Annotated[str, Query(max_length=40, pattern=r"^[A-Za-z0-9_-]*$")]
Token = Annotated[str, Query(max_length=64, pattern=r"^[A-Za-z0-9_-]*$")]
FormReport = Annotated[str, Form(min_length=1, max_length=40, pattern=r"^[A-Za-z0-9_-]+$")]
FormToken = Annotated[str, Form(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_-]+$")]
PAGE_CSP = "default-src 'none'; form-action 'self'; frame-ancestors 'none'"
PATH = "/report/unsubscribe"


def _page(body: str) -> HTMLResponse:
    html = (
        '<!doctype html><html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>Stop updates · Tocsin</title></head><body><main>{body}</main></body></html>"
    )
    headers = {"Content-Security-Policy": PAGE_CSP, "Cache-Control": "no-store"}
    return HTMLResponse(html, headers=headers)


_LIMIT_LOCK = threading.Lock()


def _limit(request: Request) -> TokenBucket:
    """The app's own rate for this page (routes are shared by every app of a process)."""
    state = request.app.state
    with _LIMIT_LOCK:
        if not hasattr(state, "unsubscribe_limit"):
            state.unsubscribe_limit = TokenBucket(per_minute=10, burst=10)
        limit: TokenBucket = state.unsubscribe_limit
    return limit


def _mail(request: Request) -> ReporterMail:
    """The reporter-mail service, once the sender's address range is within its rate."""
    host = request.client.host if request.client else "unknown"
    wait = _limit(request).allow(address_range(host))
    if wait is not None:
        raise RateLimited("too many requests to stop updates", retry_after_s=wait)
    mail = container_of(request).reporter_mail
    if mail is None:
        raise NotFound("this link to stop updates is not valid")
    return mail


def router() -> APIRouter:
    """The unsubscribe page and its form."""
    api = APIRouter(tags=["reports"])

    @api.get(PATH, response_class=HTMLResponse, responses=json_problems(404, 422, 429))
    def unsubscribe_page(
        request: Request, report: ReportId = "", token: Token = ""
    ) -> HTMLResponse:
        """A page asking to confirm that the reporter wants no more updates on the report."""
        mail = _mail(request)
        mail.check(report, token)
        rid, tok = escape(report), escape(token)
        return _page(
            f"<h1>Stop updates on report {rid}</h1>"
            "<p>Your e-mail address or phone number will be deleted now and you will receive no"
            " more updates."
            " You can still follow the report with its tracking number.</p>"
            f'<form method="post" action="{PATH}">'
            f'<input type="hidden" name="report" value="{rid}">'
            f'<input type="hidden" name="token" value="{tok}">'
            '<button type="submit">Stop updates</button></form>'
        )

    @api.post(PATH, response_class=HTMLResponse, responses=json_problems(400, 404, 413, 422, 429))
    def unsubscribe(report: FormReport, token: FormToken, request: Request) -> HTMLResponse:
        """Stop the updates: the reporter's address is deleted now."""
        _mail(request).unsubscribe(report, token)
        return _page(
            "<h1>Updates stopped</h1><p>Your e-mail address or phone number has been deleted. The"
            " report stays"
            ' and can be followed with its tracking number on <a href="/report">the report'
            " page</a>.</p>"
        )

    return api
