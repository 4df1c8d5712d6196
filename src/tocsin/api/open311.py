"""Open311 GeoReport v2 (https://wiki.open311.org/GeoReport_v2): the public reporting API.

Six methods and the discovery document under `/open311/v2/`, each in JSON and XML by the path's
suffix. Only POST needs an `api_key` (an app's key, `TOCSIN_OPEN311_API_KEYS`); reads are open
and show reports as the public may see them (the point coarsened, no personal field). Errors use
the spec's body (`[{code, description}]`, `<errors><error>…`): 404 for what does not exist, 403
for a missing or wrong key, 429 (with Retry-After) for a sender over its rate, 400 otherwise.
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import Callable, Sequence
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from typing import Annotated, Any

from fastapi import APIRouter, Path, Query, Request
from fastapi.responses import Response
from pydantic import BaseModel, TypeAdapter
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import FormData, UploadFile
from starlette.exceptions import HTTPException
from starlette.formparsers import MultiPartException

from tocsin.api.auth import container_of
from tocsin.api.open311_bodies import (
    DiscoveryOut,
    EndpointOut,
    Open311Error,
    PostedOut,
    RequestOut,
    ServiceDefinitionOut,
    ServiceOut,
    TokenOut,
    definition_out,
    request_out,
    service_out,
    xml_document,
)
from tocsin.api.open311_forms import (
    FORM_MEDIA,
    FORM_SCHEMA,
    MAX_FIELDS,
    Utf8MultiPartParser,
    submission_of,
    url_encoded_fields,
)
from tocsin.api.problems import error_response
from tocsin.api.problems import responses as problems_responses
from tocsin.bootstrap import Container
from tocsin.core import errors
from tocsin.core.report_abuse import address_range
from tocsin.core.reports import OPEN311_STATUS, Report, ReportStatus
from tocsin.core.units import UnitCode
from tocsin.ports.reports import ReportQuery
from tocsin.services.reports import Submission

BASE = "/open311/v2"
CHANGESET = datetime(2026, 11, 29, tzinfo=UTC)
MAX_RANGE = timedelta(days=90)
MAX_LISTED = 100  # values of one comma-separated parameter
UNESCAPED_PLUS = re.compile(r"(?<=[0-9]) ([0-9]{2}:?[0-9]{2})$")
METHODS = (
    "discovery.{fmt}",
    "services.{fmt}",
    "services/{code}.{fmt}",
    "requests.{fmt}",
    "requests/{id}.{fmt}",
    "tokens/{token}.{fmt}",
    "media/{id}",
)
PHOTO = {"schema": {"type": "string", "format": "binary"}}
STATUSES: dict[str, tuple[ReportStatus, ...]] = {
    wanted: tuple(s for s, shown in OPEN311_STATUS.items() if shown == wanted)
    for wanted in ("open", "closed")
}
ERROR_STATUS: dict[type[errors.TocsinError], int] = {
    errors.NotFound: 404,
    errors.Forbidden: 403,
    errors.Unauthenticated: 403,
    errors.RateLimited: 429,
}

ANY_JSON: TypeAdapter[Any] = TypeAdapter(Any)  # built once: building one costs a schema pass


class Format(StrEnum):
    """The answer's format, from the path's suffix."""

    JSON = "json"
    XML = "xml"


MEDIA = {Format.JSON: "application/json; charset=utf-8", Format.XML: "text/xml; charset=utf-8"}
FormatPath = Annotated[
    str, Path(description="`json` or `xml`", json_schema_extra={"enum": ["json", "xml"]})
]
Jurisdiction = Annotated[
    str | None,
    Query(
        description="the jurisdiction (optional: one is served)",
        json_schema_extra={"maxLength": 256},
    ),
]


class Answer:
    """One answer in the asked format: a JSON model (or list of them) or its XML document."""

    def __init__(self, fmt: str) -> None:
        if fmt not in Format.__members__.values():
            raise errors.NotFound(f"no format {fmt[:20]!r}: use json or xml")
        self.fmt = Format(fmt)

    def body(self, data: Any, *, root: str, item: str, status: int = 200) -> Response:
        """The response for `data` (a model or a list of models)."""
        if self.fmt is Format.XML:
            content = xml_document(root, item, data)
        else:
            content = ANY_JSON.dump_json(
                [d.model_dump(mode="json") for d in data]
                if isinstance(data, list)
                else data.model_dump(mode="json")
            )
        return Response(content, status_code=status, media_type=MEDIA[self.fmt])


def error_answer(fmt: str, err: errors.TocsinError) -> Response:
    """The spec's error body for a Tocsin error, in the asked format (JSON if unknown); a
    server that cannot take the report now (the reports' queue is full, the database is away)
    answers 503 as the body guard does, a Problem with Retry-After."""
    if isinstance(err, errors.Unavailable):
        return error_response(err)
    status = next((ERROR_STATUS[k] for k in type(err).__mro__ if k in ERROR_STATUS), 400)
    items = [Open311Error(code=status, description=str(err))]
    if isinstance(err, errors.InvalidInput):
        items = [Open311Error(code=status, description=str(p)) for p in err.problems[:50]]
    chosen = Format(fmt) if fmt in Format.__members__.values() else Format.JSON
    response = Answer(chosen.value).body(items, root="errors", item="error", status=status)
    if isinstance(err, errors.RateLimited):
        response.headers["Retry-After"] = str(err.retry_after_s)
    return response


def framework_error(request: Request, err: HTTPException) -> Response:
    """An error the framework raised under the Open311 base (a path that is no method, a
    method a path does not take) in the spec's error form, in the path's format."""
    path = request.url.path
    if err.status_code == 404:
        why = f"no such resource {path[:120]!r}: the methods are {', '.join(METHODS)}"
    elif err.status_code == 405:
        allowed = (err.headers or {}).get("Allow", "")
        why = f"{request.method[:10]} is not allowed on {path[:120]!r} (allowed: {allowed})"
    else:
        why = str(err.detail)
    items = [Open311Error(code=err.status_code, description=why)]
    fmt = path.rpartition(".")[2]
    chosen = Format(fmt) if fmt in Format.__members__.values() else Format.JSON
    response = Answer(chosen.value).body(items, root="errors", item="error", status=err.status_code)
    response.headers.update(err.headers or {})
    return response


def answered(fmt: str, make: Callable[[Answer], Response]) -> Response:
    """Run `make`, answering any Tocsin error in the spec's error format."""
    try:
        return make(Answer(fmt))
    except errors.TocsinError as err:
        return error_answer(fmt, err)


def _check_jurisdiction(container: Container, jurisdiction: str | None) -> None:
    if jurisdiction and jurisdiction != container.settings.open311_jurisdiction:
        raise errors.NotFound(f"no jurisdiction {jurisdiction[:80]!r}")


def _moment(raw: str | None, name: str) -> datetime | None:
    if not raw:
        return None
    # "…T10:00:00+01:00" sent unescaped arrives as "…T10:00:00 01:00" ("+" is a space in a
    # query): a space before a final offset can only have been its plus sign
    raw = UNESCAPED_PLUS.sub(r"+\1", raw)
    try:
        value = datetime.fromisoformat(raw.replace("Z", "+00:00"))
    except ValueError:
        raise errors.InvalidInput([errors.Problem("query", name, "not a W3C date-time")]) from None
    if value.tzinfo is None:
        raise errors.InvalidInput([errors.Problem("query", name, "needs its offset")])
    return value


def _list(raw: str | None, name: str) -> tuple[str, ...]:
    """A comma-separated parameter's values; more than 100 is refused (they were cut to the
    first 100 without a word)."""
    values = tuple(p.strip() for p in (raw or "").split(",") if p.strip())
    if len(values) > MAX_LISTED:
        why = f"at most {MAX_LISTED} values, not {len(values)}"
        raise errors.InvalidInput([errors.Problem("query", name, why)])
    return values


def request_query(
    container: Container, *, ids: str | None, services: str | None, dates: tuple[str | None, ...]
) -> ReportQuery:
    """The query of GET requests: ids override the rest; dates default to the last 90 days
    and may span at most 90 days; `dates` is (start, end, status)."""
    if _list(ids, "service_request_id"):
        return ReportQuery(ids=_list(ids, "service_request_id"))
    start, end = _moment(dates[0], "start_date"), _moment(dates[1], "end_date")
    end = end or (start + MAX_RANGE if start else container.clock.now())
    start = start or end - MAX_RANGE
    if end - start > MAX_RANGE or end < start:
        why = "start_date to end_date must be at most 90 days, in order"
        raise errors.InvalidInput([errors.Problem("query", "start_date", why)])
    wanted = _list(dates[2], "status")
    unknown = [s for s in wanted if s not in STATUSES]
    if unknown:
        raise errors.InvalidInput(
            [errors.Problem("query", "status", f"not open or closed: {unknown}")]
        )
    statuses = tuple(s for w in wanted for s in STATUSES[w])
    return ReportQuery(
        services=_list(services, "service_code"), statuses=statuses, start_at=start, end_at=end
    )


def requests_answer(
    fmt: str,
    container: Container,
    jurisdiction: str | None,
    produce: Callable[[], Sequence[BaseModel]],
) -> Response:
    """A `service_requests` answer (a list of requests or tokens), errors in the spec's form."""

    def make(a: Answer) -> Response:
        _check_jurisdiction(container, jurisdiction)
        return a.body(list(produce()), root="service_requests", item="request")

    return answered(fmt, make)


def public_base(container: Container, request: Request) -> str:
    """Where the public reaches this server: `TOCSIN_REPORT_PUBLIC_URL`, else the address the
    request came to."""
    return (container.settings.report_public_url or str(request.base_url)).rstrip("/")


def public_request(container: Container, report: Report, *, base: str) -> RequestOut:
    """A public report as an Open311 request; `media_url` is absolute (the schema's `uri`
    format), under `base`."""
    unit = container.catalog.units.get(UnitCode(report.unit)) if report.unit else None
    media = f"{base}{BASE}/media/{report.id}" if report.has_photo else None
    return request_out(
        report,
        rtype=container.reports.types.get(report.service),
        unit_name=unit.name if unit else None,
        media_url=media,
    )


def _formats(model: type[BaseModel] | Any) -> dict[int | str, dict[str, Any]]:
    errors_doc = {
        "model": list[Open311Error],
        "content": {"text/xml": {"schema": {"type": "string"}}},
    }
    return {
        **problems_responses(422),  # only what the framework itself refuses (never seen so far)
        200: {"model": model, "content": {"text/xml": {"schema": {"type": "string"}}}},
        400: {**errors_doc, "description": "Invalid request (GeoReport v2 error list)."},
        404: {**errors_doc, "description": "No such service, request, token or jurisdiction."},
    }


def router() -> APIRouter:
    """The Open311 GeoReport v2 routes."""
    api = APIRouter(tags=["open311"])

    @api.get(f"{BASE}/discovery.{{fmt}}", response_model=None, responses=_formats(DiscoveryOut))
    def discovery(fmt: FormatPath, request: Request) -> Response:
        """Service discovery: where this endpoint is and which formats it speaks."""
        base = str(request.base_url).rstrip("/") + BASE
        endpoint = EndpointOut(
            specification="http://wiki.open311.org/GeoReport_v2",
            url=base,
            changeset=CHANGESET,
            type="production",
            formats=["text/xml", "application/json"],
        )
        doc = DiscoveryOut(
            changeset=CHANGESET,
            contact="the operator of this Tocsin server",
            key_service="API keys for apps are issued by this server's operator",
            endpoints=[endpoint],
        )
        return answered(fmt, lambda a: a.body(doc, root="discovery", item="discovery"))

    @api.get(f"{BASE}/services.{{fmt}}", response_model=None, responses=_formats(list[ServiceOut]))
    def services(
        fmt: FormatPath, request: Request, jurisdiction_id: Jurisdiction = None
    ) -> Response:
        """The hazard types the public can report."""
        container = container_of(request)

        def make(a: Answer) -> Response:
            _check_jurisdiction(container, jurisdiction_id)
            found = [service_out(t) for t in container.reports.types.values()]
            return a.body(found, root="services", item="service")

        return answered(fmt, make)

    @api.get(
        f"{BASE}/services/{{service_code}}.{{fmt}}",
        response_model=None,
        responses=_formats(ServiceDefinitionOut),
    )
    def service_definition(
        service_code: Annotated[str, Path()],
        fmt: FormatPath,
        request: Request,
        jurisdiction_id: Jurisdiction = None,
    ) -> Response:
        """A hazard type's questions (attributes)."""
        container = container_of(request)

        def make(a: Answer) -> Response:
            _check_jurisdiction(container, jurisdiction_id)
            found = definition_out(container.reports.report_type(service_code))
            return a.body(found, root="service_definition", item="service_definition")

        return answered(fmt, make)

    posting = {
        **_formats(list[PostedOut]),
        **problems_responses(413),
        403: {
            "model": list[Open311Error],
            "content": {"text/xml": {"schema": {"type": "string"}}},
            "description": "A missing or wrong api_key.",
        },
        429: {
            "model": list[Open311Error],
            "content": {"text/xml": {"schema": {"type": "string"}}},
            "description": "Too many reports from this sender: try again after Retry-After.",
            "headers": {"Retry-After": {"schema": {"type": "string"}}},
        },
    }

    @api.post(
        f"{BASE}/requests.{{fmt}}",
        response_model=None,
        responses=posting,
        openapi_extra={"requestBody": FORM_SCHEMA},
    )
    async def post_request(fmt: FormatPath, request: Request) -> Response:
        """Report a hazard (form-encoded, or multipart with a photo as `media`); needs an
        app's `api_key`. Answers the request id at once (services are realtime)."""
        container = container_of(request)
        try:
            form = await _form(request)
        except errors.InvalidInput as err:
            return error_answer(fmt, err)
        client = request.client.host if request.client else "unknown"
        try:
            return await run_in_threadpool(_post, container, fmt, form, client)
        finally:
            await form.close()  # an uploaded photo's spooled file

    @api.get(f"{BASE}/requests.{{fmt}}", response_model=None, responses=_formats(list[RequestOut]))
    def get_requests(
        fmt: FormatPath,
        request: Request,
        jurisdiction_id: Jurisdiction = None,
        service_request_id: Annotated[str | None, Query(description="ids, comma-separated")] = None,
        service_code: Annotated[str | None, Query(description="codes, comma-separated")] = None,
        start_date: Annotated[str | None, Query(description="W3C date-time")] = None,
        end_date: Annotated[str | None, Query(description="W3C date-time")] = None,
        status: Annotated[str | None, Query(description="open and/or closed")] = None,
    ) -> Response:
        """Reports (public view), newest first: at most 1,000 and 90 days."""
        container = container_of(request)

        def produce() -> list[RequestOut]:
            query = request_query(
                container,
                ids=service_request_id,
                services=service_code,
                dates=(start_date, end_date, status),
            )
            base = public_base(container, request)
            return [public_request(container, r, base=base) for r in container.reports.find(query)]

        return requests_answer(fmt, container, jurisdiction_id, produce)

    @api.get(
        f"{BASE}/requests/{{service_request_id}}.{{fmt}}",
        response_model=None,
        responses=_formats(list[RequestOut]),
    )
    def get_request(
        service_request_id: Annotated[str, Path()],
        fmt: FormatPath,
        request: Request,
        jurisdiction_id: Jurisdiction = None,
    ) -> Response:
        """One report (public view), in the list wrapper."""
        container = container_of(request)

        def produce() -> list[RequestOut]:
            report, _ = container.reports.public(service_request_id)
            return [public_request(container, report, base=public_base(container, request))]

        return requests_answer(fmt, container, jurisdiction_id, produce)

    @api.get(
        f"{BASE}/tokens/{{token}}.{{fmt}}", response_model=None, responses=_formats(list[TokenOut])
    )
    def token(
        token: Annotated[str, Path()],
        fmt: FormatPath,
        request: Request,
        jurisdiction_id: Jurisdiction = None,
    ) -> Response:
        """The request id of a token (a report's id serves as its token)."""
        container = container_of(request)

        def produce() -> list[TokenOut]:
            report, _ = container.reports.public(token)
            return [TokenOut(service_request_id=report.id, token=token)]

        return requests_answer(fmt, container, jurisdiction_id, produce)

    @api.get(
        f"{BASE}/media/{{service_request_id}}",
        response_class=Response,
        responses={
            200: {
                "content": {"image/jpeg": PHOTO, "image/png": PHOTO},
                "description": "The photo.",
            },
            404: {"model": list[Open311Error], "description": "No such report or no photo."},
            **problems_responses(422),
        },
    )
    def media(service_request_id: Annotated[str, Path()], request: Request) -> Response:
        """A report's photo (its metadata was removed when it came in)."""
        container = container_of(request)
        try:
            media_type, data = container.reports.photo(service_request_id)
        except errors.TocsinError as err:
            return error_answer("json", err)
        return Response(data, media_type=media_type)

    return api


async def _form(request: Request) -> FormData:
    """The posted form: multipart (a photo) or form-encoded, its text decoded as UTF-8;
    InvalidInput for a body that is not one (an empty body is an empty form: no api_key)."""
    media = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if media == "multipart/form-data":
        try:
            parser = Utf8MultiPartParser(
                request.headers, request.stream(), max_files=1, max_fields=MAX_FIELDS
            )
            return await parser.parse()
        except MultiPartException as err:
            why = f"not a form: {err.message}"
        except Exception:  # the multipart library raises its own types for unreadable parts
            why = "not a form"
        raise errors.InvalidInput([errors.Problem("body", "", why)])
    body = await request.body()
    if media == "application/x-www-form-urlencoded":
        pairs: list[tuple[str, str | UploadFile]] = list(url_encoded_fields(body))
        return FormData(pairs)
    if body:
        sent = f"not {media[:80]}" if media else "with a Content-Type"
        why = f"not a form: send {' or '.join(FORM_MEDIA)}, {sent}"
        raise errors.InvalidInput([errors.Problem("body", "", why)])
    return FormData()


def _post(container: Container, fmt: str, form: FormData, client: str) -> Response:
    """A report from a form (on a worker thread: it waits for the commit)."""

    def make(a: Answer) -> Response:
        report = container.reports.submit(_submission(container, form, client))
        return a.body(
            [PostedOut(service_request_id=report.id)], root="service_requests", item="request"
        )

    return answered(fmt, make)


async def post_form(
    container: Container, fmt: str, fields: Sequence[tuple[str, str]], *, client: str
) -> Response:
    """A report from a form's fields, answered as `_post` answers, on the event loop: checked
    and queued without I/O, the answer awaiting the commit (the report gate's path)."""
    try:
        answer = Answer(fmt)
        reports = container.reports
        future = reports.begin(_submission(container, FormData(list(fields)), client))
        stored = await asyncio.wrap_future(future)
        reports.settle(stored)
        if reports.follows(stored):  # the incident's side is a transaction of its own
            await run_in_threadpool(reports.follow, stored)
    except errors.TocsinError as err:
        return error_answer(fmt, err)
    body = [PostedOut(service_request_id=stored.report.id)]
    return answer.body(body, root="service_requests", item="request")


def _submission(container: Container, form: FormData, client: str) -> Submission:
    """The form's submission, once its app key and jurisdiction are checked."""
    key = form.get("api_key")
    label = container.api_keys.get(key) if isinstance(key, str) else None
    if label is None:
        raise errors.Forbidden("invalid api_key received -- can't proceed with create_request")
    _check_jurisdiction(container, _str(form.get("jurisdiction_id")))
    return submission_of(form, client=label, address_range=address_range(client))


def _str(value: str | UploadFile | None) -> str | None:
    return value if isinstance(value, str) else None
