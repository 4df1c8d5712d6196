"""`tocsin sources`: what each kind of source delivered to a running server, the series no rule
in sources.yaml maps, and the latest messages refused whole with why (asked of the server's
API, where the counts live)."""

from __future__ import annotations

from typing import Annotated, Any

import typer

from tocsin.cli.common import console, print_table, reported

COLUMNS = ("kind", "received", "stored", "unmapped", "skipped", "refused")


def _fetch(server: str, token: str | None) -> list[dict[str, Any]]:
    import httpx

    from tocsin.core.errors import Unauthenticated, Unavailable

    headers = {"Authorization": f"Bearer {token}"} if token else {}
    try:
        response = httpx.get(f"{server.rstrip('/')}/api/v1/sources", headers=headers, timeout=10)
    except httpx.HTTPError as err:
        raise Unavailable(f"cannot reach the server at {server}: {err}") from err
    if response.status_code in (401, 403):
        raise Unauthenticated(f"the server refused the token (HTTP {response.status_code})")
    if response.status_code != 200:
        raise Unavailable(f"the server answered HTTP {response.status_code}")
    found: list[dict[str, Any]] = response.json()
    return found


def sources(
    server: Annotated[
        str, typer.Option(metavar="URL", help="The server's base URL")
    ] = "http://127.0.0.1:8080",
    token: Annotated[
        str | None,
        typer.Option(metavar="TOKEN", envvar="TOCSIN_TOKEN", help="API token of a national reader"),
    ] = None,
) -> None:
    """Samples each kind of source delivered since the server started, unmapped series, and
    the latest messages refused whole (where, field, why)."""
    with reported():
        found = _fetch(server, token)
    print_table(COLUMNS, ([str(s[c]) for c in COLUMNS] for s in found), keys={"kind"})
    for source in found:
        for name, count in source["unmapped_series"].items():
            console.print(f"unmapped {source['kind']}: {name} ({count} samples)", markup=False)
    for source in found:
        for line in refusal_lines(source):
            console.print(line, markup=False, soft_wrap=True)


def refusal_lines(source: dict[str, Any]) -> list[str]:
    """One line per problem of each message (or fetch) refused whole, oldest first: the kind,
    where it came from (the MQTT topic, the feed), where in it, the field and why."""
    out = []
    for refusal in source.get("recent_refusals", []):
        for problem in refusal["problems"]:
            place = " ".join(p for p in (problem["where"], problem["field"]) if p)
            out.append(
                f"refused {source['kind']}: {refusal['source']}: {place}: {problem['reason']}"
            )
    return out
