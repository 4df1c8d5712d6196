"""Warning pipeline commands: silences (create, list, expire), history, notify (run, log).

The database and the services are imported inside the commands (see `tocsin.cli.main`).
"""

from __future__ import annotations

import json
import os
import re
import signal
import threading
from datetime import UTC, datetime, timedelta
from types import FrameType
from typing import TYPE_CHECKING, Annotated

import typer

from tocsin.cli.common import (
    ConfigOption,
    DbOption,
    JsonLinesOption,
    LevelOption,
    ReasonOption,
    WarningIdArg,
    check_known,
    console,
    errors,
    group,
    open_container,
    parse_levels,
    print_table,
    reported,
    settings,
)
from tocsin.cli.principal import SYSTEM as SYSTEM  # tests import it from here
from tocsin.cli.trails import print_trail
from tocsin.core.access import system_principal

if TYPE_CHECKING:
    from tocsin.bootstrap import Container
from tocsin.core.errors import InvalidInput, NotFound, Problem

silences_app = group("Silences: owned, reasoned, time-boxed.")
notify_app = group("Notification delivery.")
SilenceIdArg = Annotated[
    str, typer.Argument(metavar="SILENCE_ID", help="Silence id (or a unique prefix)")
]

_DURATION = re.compile(r"^(\d+)([smhd])$")
_UNITS = {"s": "seconds", "m": "minutes", "h": "hours", "d": "days"}


def parse_duration(text: str) -> timedelta:
    """`90m`, `2h`, `1d`, `30s` as a timedelta."""
    m = _DURATION.match(text.strip())
    if m is None:
        raise InvalidInput([Problem("--for", "duration", f"not a duration: {text!r} (e.g. 2h)")])
    return timedelta(**{_UNITS[m.group(2)]: int(m.group(1))})


def parse_until(text: str) -> datetime:
    """An ISO 8601 moment (UTC when it has no offset)."""
    try:
        parsed = datetime.fromisoformat(text.strip().replace("Z", "+00:00"))
    except ValueError:
        raise InvalidInput(
            [Problem("--until", "time", f"not an ISO 8601 time: {text!r} (e.g. 2026-05-01T18:00)")]
        ) from None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


@silences_app.command("create")
def silences_create(
    by: Annotated[str, typer.Option(metavar="NAME", help="Owner of the silence")],
    reason: ReasonOption,
    for_: Annotated[
        str | None, typer.Option("--for", metavar="DURATION", help="Duration, e.g. 2h")
    ] = None,
    until: Annotated[
        str | None, typer.Option(metavar="TIME", help="End, ISO 8601 (UTC if no offset)")
    ] = None,
    region: Annotated[
        str | None, typer.Option(metavar="REGION", help="Region (and its subtree)")
    ] = None,
    domain: Annotated[
        str | None, typer.Option(metavar="DOMAIN", help="Domain (and sub-domains)")
    ] = None,
    level: LevelOption = None,
    match: Annotated[
        list[str] | None,
        typer.Option(metavar="MATCHER", help='Label matcher, e.g. source="x" (repeatable)'),
    ] = None,
    db: DbOption = None,
    config: ConfigOption = None,
) -> None:
    """Create a silence (needs an owner, a reason and an end)."""
    from tocsin.core.warnings.selectors import Selector, parse_matcher

    levels = parse_levels(level)
    with reported():
        if (for_ is None) == (until is None):
            raise InvalidInput([Problem("options", "--for/--until", "give exactly one")])
        try:
            matchers = tuple(parse_matcher(m) for m in match or [])
        except ValueError as err:
            raise InvalidInput([Problem("--match", "matcher", str(err))]) from err
        ends_at = parse_until(until) if until is not None else None
        container = open_container(db, config)
        if ends_at is None:
            ends_at = container.clock.now() + parse_duration(for_ or "")
        check_known("--region", region, container.catalog.regions.regions)
        check_known("--domain", domain, container.catalog.domains)
        selector = Selector(region, domain, frozenset(levels), matchers)
        silence = container.silences.create(
            selector, principal=system_principal(by), reason=reason, ends_at=ends_at
        )
    needs = silence.approval.needs if silence.approval else ()
    waits = f" (awaiting a second user's approval: {', '.join(needs)})" if needs else ""
    console.print(
        f"silence {silence.id} until {silence.ends_at.isoformat()}: {selector.describe()}{waits}",
        markup=False,
        soft_wrap=True,
    )


@silences_app.command("list")
def silences_list(
    all_: Annotated[bool, typer.Option("--all", help="Include ended silences")] = False,
    awaiting: Annotated[
        bool, typer.Option("--awaiting", help="Only those awaiting a second user's approval")
    ] = False,
    as_json: JsonLinesOption = False,
    db: DbOption = None,
) -> None:
    """List silences, newest first."""
    from tocsin.core.warnings.silences import SilenceState, silence_json

    with reported():
        container = open_container(db)
        state = SilenceState.AWAITING_APPROVAL if awaiting else None
        found = container.silences.find(include_expired=all_, state=state, principal=SYSTEM)
        now = container.clock.now()
    if as_json:
        for s in found:
            console.print(json.dumps(silence_json(s, now)), markup=False, soft_wrap=True)
        return
    print_table(
        ("id", "state", "matches", "until", "owner", "reason"),
        (
            (
                s.id[:12],
                s.state(now).value,
                s.selector.describe(),
                s.ends_at.strftime("%Y-%m-%d %H:%M"),
                s.created_by,
                s.reason,
            )
            for s in found
        ),
        keys={"id"},
    )
    console.print(f"{len(found)} silence(s)")


@silences_app.command("expire")
def silences_expire(
    silence_id: SilenceIdArg,
    by: Annotated[str, typer.Option(metavar="NAME", help="Who ends it")],
    reason: ReasonOption = "",
    db: DbOption = None,
) -> None:
    """End a silence now."""
    with reported():
        container = open_container(db)
        found = _one_silence(container, silence_id)
        done = container.silences.expire(found, principal=system_principal(by), reason=reason)
    console.print(f"expired {done.id}")


def _one_silence(container: Container, prefix: str) -> str:
    """The id of the one silence whose id starts with `prefix` (NotFound otherwise)."""
    every = container.silences.find(include_expired=True, principal=SYSTEM)
    matches = [s for s in every if s.id.startswith(prefix)]
    if len(matches) != 1:
        raise NotFound(f"{len(matches)} silences match {prefix!r}")
    return matches[0].id


@silences_app.command("approve")
def silences_approve(
    silence_id: SilenceIdArg,
    by: Annotated[str, typer.Option(metavar="NAME", help="Who approves (not its creator)")],
    db: DbOption = None,
) -> None:
    """Approve a broad silence (a whole nation, every region, every level for long): a second
    person's word, after which it suppresses."""
    with reported():
        container = open_container(db)
        found = _one_silence(container, silence_id)
        done = container.silences.approve(found, principal=system_principal(by))
    console.print(f"approved {done.id} by {by}", markup=False)


@silences_app.command("refuse")
def silences_refuse(
    silence_id: SilenceIdArg,
    by: Annotated[str, typer.Option(metavar="NAME", help="Who refuses (not its creator)")],
    reason: ReasonOption,
    db: DbOption = None,
) -> None:
    """Refuse a broad silence awaiting approval, saying why: it ends without ever
    suppressing."""
    with reported():
        container = open_container(db)
        found = _one_silence(container, silence_id)
        done = container.silences.refuse(found, principal=system_principal(by), reason=reason)
    console.print(f"refused {done.id} by {by}", markup=False)


def history(
    warning_id: WarningIdArg,
    db: DbOption = None,
) -> None:
    """A warning's transitions (who, when, why) and the notifications sent about it."""
    with reported():
        container = open_container(db)
        warning = container.warnings.resolve(warning_id, principal=SYSTEM)
        records = container.warnings.history(warning.id, principal=SYSTEM)
        now = container.clock.now()
        delivery = container.dispatcher.explain_delivery(warning, now, principal=SYSTEM)
    console.print(
        f"{warning.id} {warning.level.value.upper()} {warning.state.value} "
        f"{warning.region} {warning.domain} {warning.subject}"
    )
    for rule, held in dict(warning.explanation.get("causes", {})).items():  # the rules holding it
        level = str(held.get("level", "")).upper()
        console.print(
            f"  {rule:<10} {level:<7} {held.get('reason', '')}", markup=False, soft_wrap=True
        )
    print_trail(records, kind_width=20)
    print_table(
        ("created", "kind", "reason", "receiver", "channel", "status", "attempts"),
        (
            (
                n["created_at"][:19],
                n["kind"],
                n["reason"],
                n["receiver"],
                n["channel"],
                n["status"],
                str(n["attempts"]),
            )
            for n in delivery["notifications"]
        ),
    )
    if delivery["suppressed_by"]:
        console.print("suppressed now by: " + ", ".join(delivery["suppressed_by"]))


@notify_app.command("run")
def notify_run(
    once: Annotated[bool, typer.Option(help="One dispatch and delivery round, then exit")] = False,
    interval: Annotated[
        float, typer.Option(metavar="SECONDS", help="Seconds between rounds", min=0.01)
    ] = 0.5,
    watch: Annotated[
        float,
        typer.Option(
            metavar="SECONDS",
            help="Seconds between looks for warning transitions other processes committed",
            min=0.005,
        ),
    ] = 0.05,
    work: Annotated[
        str,
        typer.Option(
            metavar="WORK",
            help="all, or some of dispatch (the dispatcher; without deliver the outbox is left "
            "to `--work deliver` processes), deliver (send the outbox's due notifications) and "
            "schedule (the timers: the response, report deadlines, public alerts, retention), "
            "comma-separated",
        ),
    ] = "all",
    db: DbOption = None,
    config: ConfigOption = None,
) -> None:
    """Dispatch and deliver notifications, and run the timers (the response's plans and
    reminders, report deadlines, public alerts, retention), in the foreground (alongside or
    instead of serve): the process that holds the dispatch lease dispatches and the one that
    holds the schedule lease runs the timers; others stand by. `--work deliver` alone needs no
    lease: any number of such processes share the outbox.

    Runs the same dispatcher and delivery loops as `serve` (the dispatcher hands what it writes
    straight to the delivery worker), in a process of its own: with `serve` started with
    TOCSIN_BACKGROUND_WORKERS=false, the API and the pipeline each have a processor core. It
    looks for warning transitions committed by other processes every `watch` seconds (one row
    read) and works on them at once; timers (group waits, escalations, retries, reminders) are
    checked every `interval` seconds."""
    from datetime import timedelta

    from tocsin.bootstrap import build
    from tocsin.runtime import tune_collector
    from tocsin.services.background import Work, parse_work, start_background, start_delivery

    with reported():
        tasks = parse_work(work)
        chosen = settings(db, config)
        container = build(chosen.model_copy(update={"background_workers": True}))
    if once:
        figures: dict[str, int] = {}
        owners = {
            Work.DISPATCH: container.leases.dispatch,
            Work.SCHEDULE: container.leases.schedule,
        }
        for wanted, owner in owners.items():
            if wanted in tasks:
                with reported():  # the lease of a server that just stopped runs out first
                    owner.require(wait=owner.ttl + timedelta(seconds=1))
        now = container.clock.now()
        if Work.DISPATCH in tasks:
            report = container.dispatcher.tick(now)
            figures |= {"transitions": report.transitions, "notifications": report.notifications}
        if Work.SCHEDULE in tasks:
            container.response.responder.tick(now)  # incidents, tasks, reminders, reports
        if Work.DELIVER in tasks:
            delivered = container.delivery.run_once(container.clock.now())
            figures |= {
                "delivered": delivered.delivered,
                "retried": delivered.retried,
                "failed": delivered.failed,
            }
        container.close()
        console.print(json.dumps(figures))
        return
    stop = threading.Event()

    def handle(_sig: int, _frame: FrameType | None) -> None:
        stop.set()

    signal.signal(signal.SIGTERM, handle)
    signal.signal(signal.SIGINT, handle)
    tune_collector(switch_ms=chosen.thread_switch_ms)
    stops = []
    roles = []
    if Work.DISPATCH in tasks or Work.SCHEDULE in tasks:
        stops.append(
            start_background(container, interval=interval, watch=watch, work=tasks, ingests=False)
        )
        held = " and ".join(w.value for w in (Work.DISPATCH, Work.SCHEDULE) if w in tasks)
        roles.append(f"it works while it holds the {held} lease, and stands by while another does")
    if Work.DELIVER in tasks and Work.DISPATCH not in tasks:
        stops.append(start_delivery(container, interval=interval))
        roles.append("it sends the outbox's due notifications, sharing them with any other")
    role = "; ".join(roles)

    def stop_loops() -> None:
        for stop_one in stops:
            stop_one()

    console.print(  # a supervisor (or a test) reads this line as "started"
        f"notify run started (pid {os.getpid()}, --work {work}): {role}", markup=False
    )
    try:
        stop.wait()
    finally:
        stop_loops()
        container.close()


@notify_app.command("log")
def notify_log(
    warning: Annotated[
        str | None, typer.Option(metavar="ID", help="Only notifications about this warning")
    ] = None,
    status: Annotated[
        str | None, typer.Option(metavar="STATUS", help="pending, delivered or failed")
    ] = None,
    limit: Annotated[int, typer.Option(metavar="N", help="At most this many", min=1)] = 50,
    db: DbOption = None,
) -> None:
    """The notification log, newest first."""
    from tocsin.core.warnings.outbox import DeliveryStatus

    check_known("--status", status, [s.value for s in DeliveryStatus])
    with reported():
        container = open_container(db)
        rows = container.dispatcher.notification_log(
            principal=SYSTEM, warning_id=warning, status=status, limit=limit
        )
    print_table(
        ("created", "kind", "reason", "receiver", "address", "status", "tries", "key"),
        (
            (
                n.created_at.strftime("%Y-%m-%d %H:%M:%S"),
                n.kind.value,
                n.reason,
                n.receiver,
                n.address,
                n.status.value,
                str(n.attempts),
                n.key,
            )
            for n in rows
        ),
        keys={"key"},
    )
    if not rows:
        errors.print("no notifications")
