"""Error responses: one problem body for every 4xx/5xx, and the handlers that produce it.

Every error the API returns is a `Problem`: a sentence (`detail`) and the list of what was wrong
and where (`problems[{where, field, reason}]`). Services raise the `TocsinError` tree; it is
mapped to a status here, in one table. No traceback ever reaches a client: anything unexpected
is logged with an id and answered 500 with that id.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Callable, Iterable, Mapping
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from pydantic import BaseModel, Field
from starlette.exceptions import HTTPException

from tocsin.core import errors

log = logging.getLogger(__name__)

STATUS: dict[type[errors.TocsinError], int] = {
    errors.NotFound: 404,
    errors.Conflict: 409,
    errors.IllegalTransition: 409,
    errors.Unauthenticated: 401,
    errors.Forbidden: 403,
    errors.InvalidInput: 422,
    errors.Unreadable: 400,  # a body that is not its format at all (remote write)
    errors.Unavailable: 503,  # Overloaded and NotOwner too
    errors.RateLimited: 429,
}
MAX_LISTED = 50
CHALLENGES: dict[int, dict[str, str]] = {401: {"WWW-Authenticate": "Bearer"}}
DESCRIPTIONS: dict[int, str] = {
    400: "The request could not be read (for example a body that is not JSON).",
    401: "No bearer token, or one that is not valid (`WWW-Authenticate: Bearer`).",
    403: "The token's role may not do this.",
    404: "A thing named in the path does not exist.",
    409: "The request contradicts the current state.",
    413: "The request body is larger than the server's limit (`TOCSIN_MAX_BODY_BYTES`).",
    422: "The request is invalid; every problem is listed, and nothing of it was stored.",
    415: "The body's Content-Type is not one this operation reads.",
    429: "Too many requests (sign-in attempts, writes, or writes at once): wait `Retry-After` "
    "seconds.",
    500: "A fault on the server (logged with the id in `detail`); nothing was stored.",
    503: (
        "Not now, and nothing was stored: the server is overloaded, the database cannot be "
        "used (full disk, read-only, unreachable), or this server is a standby and another one "
        "owns the rules' state (named in `detail` and `problems`). Retry after `Retry-After` "
        "seconds."
    ),
}


class ProblemItem(BaseModel):
    """One thing wrong with a request: where (a path into it), which field, and why."""

    where: str
    field: str
    reason: str


class Problem(BaseModel):
    """The body of every error response."""

    detail: str = Field(description="what went wrong, in one sentence")
    problems: list[ProblemItem] = Field(default=[], description="each problem, where and why")


def responses(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """The OpenAPI `responses` entries for these error statuses, all with the Problem body."""
    return {s: {"model": Problem, "description": DESCRIPTIONS[s]} for s in statuses}


# the problems of the usual routes: a read of what may not exist (404), a write of a body (400,
# 413, 422), and a change with a body that may conflict with the state of what it changes (409)
READ_ERRORS = responses(401, 403, 404, 422)
WRITE_ERRORS = responses(400, 401, 403, 413, 422)
CHANGE_ERRORS = responses(400, 401, 403, 404, 409, 413, 422)


PROBLEM_REF: dict[str, str] = {"$ref": "#/components/schemas/Problem"}


def json_problems(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """Like `responses`, for a route whose success is not JSON (text, HTML, PDF, CSV): its
    Problem bodies are JSON, said explicitly."""
    return {
        s: {
            "description": DESCRIPTIONS[s],
            "content": {"application/json": {"schema": PROBLEM_REF}},
        }
        for s in statuses
    }


def item(problem: errors.Problem) -> ProblemItem:
    """The API form of a core problem."""
    return ProblemItem(where=problem.where, field=problem.field, reason=problem.reason)


def problem_response(
    status: int,
    detail: str,
    problems: Iterable[errors.Problem] = (),
    *,
    headers: Mapping[str, str] | None = None,
) -> JSONResponse:
    """A JSON response with a Problem body."""
    body = Problem(detail=detail, problems=[item(p) for p in list(problems)[:MAX_LISTED]])
    return JSONResponse(body.model_dump(), status_code=status, headers=headers)


def error_response(err: errors.TocsinError) -> JSONResponse:
    """The Problem response of a Tocsin error (503s say when to come back; a standby names
    the owner of what the request needs)."""
    status = status_of(err)
    headers = dict(CHALLENGES.get(status, {}))
    found = list(getattr(err, "problems", ()))
    if isinstance(err, errors.Unavailable | errors.RateLimited):
        headers["Retry-After"] = str(err.retry_after_s)
        owner = getattr(err, "owner", "")
        found += [errors.Problem("server", "owner", owner)] if owner else []
    return problem_response(status, str(err), found, headers=headers)


def status_of(err: errors.TocsinError) -> int:
    """The HTTP status of a Tocsin error (its nearest mapped ancestor; 400 otherwise)."""
    return next((STATUS[k] for k in type(err).__mro__ if k in STATUS), 400)


def location(loc: Iterable[int | str]) -> errors.Problem:
    """A pydantic error location as where/field: ('body', 'observations', 1, 'value') ->
    where `observations[1]`, field `value`; a list body's items are `body[i]`; query and path
    parameters keep their kind (`query`, `path`)."""
    parts = [str(x) for x in loc]
    if parts[-1:] == ["[key]"]:  # a map's key was wrong: name the key
        parts = parts[:-1]
    if parts and parts[0] == "body" and not (len(parts) > 1 and parts[1].isdigit()):
        parts = parts[1:]
    if parts and parts[-1].isdigit():  # an item of a list of values: the list is the field
        names = [p for p in parts if not p.isdigit()]
        return errors.Problem(_path(parts), names[-1] if names else "", "")
    return errors.Problem(_path(parts[:-1]) or "body", parts[-1] if parts else "", "")


def _path(parts: list[str]) -> str:
    return "".join(f"[{p}]" if p.isdigit() else (f".{p}" if i else p) for i, p in enumerate(parts))


def validation_problem(error: Mapping[str, Any]) -> errors.Problem:
    """A pydantic error (location starting with `body`, `query`, …) as a Problem."""
    loc = tuple(error.get("loc", ()))
    if error.get("type") == "json_invalid":
        why = (error.get("ctx") or {}).get("error", "invalid")
        return errors.Problem("body", "", f"not JSON at character {loc[-1]}: {why}")
    at = location(loc)
    reason = str(error.get("msg", "invalid")).removeprefix("Value error, ")
    if loc[-1:] == ("[key]",):
        reason = f"name: {reason}"
    return errors.Problem(at.where, at.field, reason)


def install_handlers(
    app: FastAPI,
    *,
    http_errors_under: Mapping[str, Callable[[Request, HTTPException], Response]] | None = None,
) -> None:
    """Answer every error with a Problem body; a framework error (no such path, a method a
    path does not take) under a prefix of `http_errors_under` is answered by its function
    instead (Open311's error form under `/open311/v2/`)."""
    answers = dict(http_errors_under or {})

    @app.exception_handler(errors.TocsinError)
    def tocsin_error(_: Request, err: errors.TocsinError) -> JSONResponse:
        return error_response(err)

    @app.exception_handler(RequestValidationError)
    def invalid(_: Request, err: RequestValidationError) -> JSONResponse:
        problems = [validation_problem(e) for e in err.errors()[:MAX_LISTED]]
        shown = "; ".join(str(p) for p in problems[:10])
        return problem_response(422, f"invalid request: {shown}", problems)

    @app.exception_handler(HTTPException)
    def http_error(request: Request, err: HTTPException) -> Response:
        path = request.url.path
        answer = next((f for prefix, f in answers.items() if path.startswith(prefix)), None)
        if answer is not None:
            return answer(request, err)
        return problem_response(err.status_code, str(err.detail), headers=err.headers)

    @app.exception_handler(Exception)
    def unexpected(request: Request, err: Exception) -> JSONResponse:
        return internal_error(request.method, request.url.path, err)


def internal_error(method: str, path: str, err: BaseException) -> JSONResponse:
    """An unexpected error: logged whole under a new id, answered with the id only."""
    ident = uuid.uuid4().hex[:12]
    log.error(
        "unexpected error %s answering %s %s",
        ident,
        method,
        path,
        exc_info=err,
        extra={"error_id": ident},
    )
    return problem_response(500, f"internal error {ident}: the server logged it")
