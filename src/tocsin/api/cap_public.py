"""The public side of public alerts: each published alert's CAP document at a stable URL, and
the Atom feed of active alerts. Anyone may read them (`api/public.py` lists both).

The feed takes filters (a region and its subtree, domains with their sub-domains, levels, a
language) and answers with an ETag; a client sending it back in `If-None-Match` gets `304 Not
Modified` until the active set changes. A published document never changes (its ETag is its
digest) and stays readable after it expires or is superseded, since later messages refer to it.
"""

from __future__ import annotations

import hashlib
from typing import Annotated

from fastapi import APIRouter, Header, Query, Request
from fastapi.responses import Response

from tocsin.api.auth import container_of
from tocsin.api.fields import CapIdentifier
from tocsin.api.problems import responses
from tocsin.core.domains import parse_domains
from tocsin.core.levels import parse_levels
from tocsin.services.public_alert_views import FeedFilter

CAP_TYPE = "application/cap+xml"
ATOM_TYPE = "application/atom+xml"
FEED_CACHE = "public, max-age=60, must-revalidate"
DOCUMENT_CACHE = "public, max-age=300"
IfNoneMatch = Annotated[str | None, Header(max_length=1000)]  # the ETag of the copy held


def _accepts_gzip(header: str | None) -> bool:
    """True when Accept-Encoding names gzip without refusing it (q=0)."""
    for part in (header or "").split(","):
        name, _, params = part.strip().partition(";")
        if name.strip().lower() in ("gzip", "*"):
            return params.replace(" ", "") not in ("q=0", "q=0.0", "q=0.00", "q=0.000")
    return False


def router() -> APIRouter:
    """The public CAP routes."""
    api = APIRouter(tags=["public alerts (public)"])

    @api.get(
        "/cap/feed.atom",
        response_class=Response,
        responses={
            200: {"content": {ATOM_TYPE: {"schema": {"type": "string"}}}},
            304: {"description": "Not modified: the copy named by If-None-Match is current."},
            **responses(422),
        },
    )
    def feed(
        request: Request,
        region: Annotated[str | None, Query(max_length=64, description="a region")] = None,
        domain: Annotated[list[str] | None, Query(description="domains, comma-separated")] = None,
        level: Annotated[list[str] | None, Query(description="blue…red, comma-separated")] = None,
        lang: Annotated[
            str | None, Query(max_length=35, pattern=r"^[A-Za-z]{1,8}(-[A-Za-z0-9]{1,8})*$")
        ] = None,
        full: Annotated[
            bool, Query(description="each entry embeds its CAP alert (content)")
        ] = False,
        if_none_match: IfNoneMatch = None,
    ) -> Response:
        """The Atom feed of active public alerts, with filters; ETag and conditional GET."""
        container = container_of(request)
        chosen = FeedFilter(
            region=region,
            domains=parse_domains(domain or (), container.catalog.domains),
            levels=tuple(lv.value for lv in parse_levels(level or ())),
            language=lang,
            full=full,
        )
        answer = container.cap.views.feed(
            chosen, self_url=str(request.url), if_none_match=if_none_match
        )
        headers = {"ETag": answer.etag, "Cache-Control": FEED_CACHE, "Vary": "Accept-Encoding"}
        if answer.body is None:
            return Response(status_code=304, headers=headers)
        if answer.gzipped is not None and _accepts_gzip(request.headers.get("accept-encoding")):
            headers["Content-Encoding"] = "gzip"  # compressed once per version of the feed
            return Response(answer.gzipped, media_type=ATOM_TYPE, headers=headers)
        return Response(answer.body, media_type=ATOM_TYPE, headers=headers)

    @api.get(
        "/cap/{identifier}.xml",
        response_class=Response,
        responses={
            200: {"content": {CAP_TYPE: {"schema": {"type": "string"}}}},
            304: {"description": "Not modified."},
            **responses(404, 422),
        },
    )
    def document(
        identifier: CapIdentifier,
        request: Request,
        if_none_match: IfNoneMatch = None,
    ) -> Response:
        """A published alert's CAP 1.2 document, exactly as it was published."""
        xml = container_of(request).cap.views.document(identifier)
        etag = '"' + hashlib.sha256(xml.encode()).hexdigest()[:32] + '"'
        headers = {"ETag": etag, "Cache-Control": DOCUMENT_CACHE}
        if if_none_match is not None and etag in {t.strip() for t in if_none_match.split(",")}:
            return Response(status_code=304, headers=headers)
        return Response(xml.encode(), media_type=CAP_TYPE, headers=headers)

    return api
