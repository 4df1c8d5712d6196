"""Warning pipeline commands: silences (create, list, expire), history, notify (run, log)."""

from __future__ import annotations

import json
import re
import signal
import threading
from datetime import UTC, datetime, timedelta
from types import FrameType
from typing import Annotated

import typer
from rich.table import Table

from tocsin.bootstrap import build
from tocsin.cli.common import ConfigOption, DbOption, console, errors, reported, settings
from tocsin.core.errors import InvalidInput, NotFound, Problem
from tocsin.core.levels import Level
from tocsin.core.warnings.selectors import Selector, parse_matcher
from tocsin.core.warnings.silences import silence_json

silences_app = typer.Typer(help="Silences: owned, reasoned, time-boxed.", no_args_is_help=True)
notify_app = typer.Typer(help="Notification delivery.", no_args_is_help=True)

_DURATION = re.compile(r"^(\d+)([smhd])$")
_UNITS = {"s": "seconds", "m": "minutes", "h": "hours", "d": "days"}


def parse_duration(text: str) -> timedelta:
    """`90m`, `2h`, `1d`, `30s` as a timedelta."""
    m = _DURATION.match(text.strip())
    if m is None:
        raise InvalidInput([Problem("--for", "duration", f"not a duration: {text!r} (e.g. 2h)")])
    return timedelta(**{_UNITS[m.group(2)]: int(m.group(1))})


@silences_app.command("create")
def silences_create(
    by: Annotated[str, typer.Option(help="Owner of the silence")],
    reason: Annotated[str, typer.Option(help="Why")],
    for_: Annotated[str | None, typer.Option("--for", help="Duration, e.g. 2h")] = None,
    until: Annotated[str | None, typer.Option(help="End, ISO 8601 (UTC if no offset)")] = None,
    region: Annotated[str | None, typer.Option(help="Region (and its subtree)")] = None,
    domain: Annotated[str | None, typer.Option(help="Domain (and sub-domains)")] = None,
    level: Annotated[list[Level] | None, typer.Option(help="Only these levels")] = None,
    match: Annotated[list[str] | None, typer.Option(help='Label matcher, e.g. source="x"')] = None,
    db: DbOption = None,
    config: ConfigOption = None,
) -> None:
    """Create a silence (needs an owner, a reason and an end)."""
    with reported():
        container = build(settings(db, config))
        now = container.clock.now()
        if (for_ is None) == (until is None):
            raise InvalidInput([Problem("options", "--for/--until", "give exactly one")])
        if until is not None:
            parsed = datetime.fromisoformat(until)
            ends_at = parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)
        else:
            ends_at = now + parse_duration(for_ or "")
        try:
            matchers = tuple(parse_matcher(m) for m in match or [])
        except ValueError as err:
            raise InvalidInput([Problem("--match", "matcher", str(err))]) from err
        for name, value, known in (
            ("region", region, container.catalog.regions),
            ("domain", domain, container.catalog.domains),
        ):
            if value is not None and value not in known:
                raise NotFound(f"unknown {name} {value!r}")
        selector = Selector(region, domain, frozenset(level or ()), matchers)
        silence = container.silences.create(selector, created_by=by, reason=reason, ends_at=ends_at)
    console.print(
        f"silence {silence.id} until {silence.ends_at.isoformat()}: {selector.describe()}"
    )


@silences_app.command("list")
def silences_list(
    all_: Annotated[bool, typer.Option("--all", help="Include expired silences")] = False,
    as_json: Annotated[bool, typer.Option("--json", help="One JSON object per line")] = False,
    db: DbOption = None,
) -> None:
    """List silences, newest first."""
    with reported():
        container = build(settings(db))
        found = container.silences.find(include_expired=all_)
        now = container.clock.now()
    if as_json:
        for s in found:
            console.print(json.dumps(silence_json(s, now)), markup=False, soft_wrap=True)
        return
    table = Table("id", "state", "matches", "until", "owner", "reason")
    for s in found:
        table.add_row(
            s.id[:12],
            s.state(now).value,
            s.selector.describe(),
            s.ends_at.strftime("%Y-%m-%d %H:%M"),
            s.created_by,
            s.reason,
        )
    console.print(table)
    console.print(f"{len(found)} silence(s)")


@silences_app.command("expire")
def silences_expire(
    silence_id: Annotated[str, typer.Argument(help="Silence id (or a unique prefix)")],
    by: Annotated[str, typer.Option(help="Who ends it")],
    reason: Annotated[str, typer.Option(help="Why")] = "",
    db: DbOption = None,
) -> None:
    """End a silence now."""
    with reported():
        container = build(settings(db))
        matches = [
            s for s in container.silences.find(include_expired=True) if s.id.startswith(silence_id)
        ]
        if len(matches) != 1:
            raise NotFound(f"{len(matches)} silences match {silence_id!r}")
        done = container.silences.expire(matches[0].id, actor=by, reason=reason)
    console.print(f"expired {done.id}")


def history(
    warning_id: Annotated[str, typer.Argument(help="Warning id (or a unique prefix)")],
    db: DbOption = None,
) -> None:
    """A warning's transitions (who, when, why) and the notifications sent about it."""
    with reported():
        container = build(settings(db))
        warning = container.warnings.resolve(warning_id)
        records = container.warnings.history(warning.id)
        delivery = container.dispatcher.explain_delivery(warning, container.clock.now())
    console.print(
        f"{warning.id} {warning.level.value.upper()} {warning.state.value} "
        f"{warning.region} {warning.domain} {warning.subject}"
    )
    table = Table("at", "what", "by", "why")
    for r in records:
        table.add_row(r.at.isoformat(), r.kind, r.actor, r.reason)
    console.print(table)
    notes = Table("created", "kind", "reason", "receiver", "channel", "status", "attempts")
    for n in delivery["notifications"]:
        notes.add_row(
            n["created_at"],
            n["kind"],
            n["reason"],
            n["receiver"],
            n["channel"],
            n["status"],
            str(n["attempts"]),
        )
    console.print(notes)
    if delivery["suppressed_by"]:
        console.print("suppressed now by: " + ", ".join(delivery["suppressed_by"]))


@notify_app.command("run")
def notify_run(
    once: Annotated[bool, typer.Option(help="One dispatch and delivery round, then exit")] = False,
    interval: Annotated[float, typer.Option(help="Seconds between rounds")] = 0.5,
    db: DbOption = None,
    config: ConfigOption = None,
) -> None:
    """Dispatch and deliver notifications in the foreground (alongside or instead of serve)."""
    with reported():
        container = build(settings(db, config))
    stop = threading.Event()

    def handle(_sig: int, _frame: FrameType | None) -> None:
        stop.set()

    signal.signal(signal.SIGTERM, handle)
    signal.signal(signal.SIGINT, handle)
    while True:
        now = container.clock.now()
        report = container.dispatcher.tick(now)
        delivered = container.delivery.run_once(now)
        if once:
            console.print(
                json.dumps(
                    {
                        "transitions": report.transitions,
                        "notifications": report.notifications,
                        "delivered": delivered.delivered,
                        "retried": delivered.retried,
                        "failed": delivered.failed,
                    }
                )
            )
            return
        if stop.wait(interval):
            return


@notify_app.command("log")
def notify_log(
    warning: Annotated[
        str | None, typer.Option(help="Only notifications about this warning")
    ] = None,
    status: Annotated[str | None, typer.Option(help="pending, delivered or failed")] = None,
    limit: Annotated[int, typer.Option(help="At most this many")] = 50,
    db: DbOption = None,
) -> None:
    """The notification log, newest first."""
    with reported():
        container = build(settings(db))
        rows = container.dispatcher.notification_log(warning_id=warning, status=status, limit=limit)
    table = Table("created", "kind", "reason", "receiver", "address", "status", "tries", "key")
    for n in rows:
        table.add_row(
            n.created_at.strftime("%Y-%m-%d %H:%M:%S"),
            n.kind.value,
            n.reason,
            n.receiver,
            n.address,
            n.status.value,
            str(n.attempts),
            n.key,
        )
    console.print(table)
    if not rows:
        errors.print("no notifications")
