"""`tocsin cap`: public alerts (CAP 1.2) — draft, submit, approve, reject, publish, list, show;
validate a document; import other agencies' alerts.

Each command that acts names its user (`--by NAME`, a user of the database): the same rules as
in the API apply, the user's permissions and the unit's scope included, and an alert is
approved by someone other than whoever drafted or edited it. An alert is named by its
identifier, or by a unique end of it (the last characters `tocsin cap list` shows).
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from tocsin.cli.common import (
    ConfigOption,
    DbOption,
    ReasonOption,
    console,
    errors,
    group,
    open_container,
    parse_levels,
    print_problems,
    print_table,
    reported,
    settings,
)
from tocsin.cli.principal import SYSTEM
from tocsin.core.errors import InvalidInput, NotFound, Problem

if TYPE_CHECKING:
    from tocsin.bootstrap import Container
    from tocsin.core.access import Principal
    from tocsin.core.cap.lifecycle import PublicAlert

cap_app = group("Public alerts (CAP 1.2): draft, approve, publish; read other agencies'.")
By = Annotated[str, typer.Option(metavar="NAME", help="Who acts (a user of the database)")]
AlertArg = Annotated[
    str, typer.Argument(metavar="ALERT", help="Identifier (or a unique end of it)")
]


def _user(container: Container, name: str) -> Principal:
    """The named user's principal (their role's permissions, their unit's scope)."""
    from tocsin.core.access import Via

    for user, _ in container.admin.users():
        if user.name == name:
            return container.access.principal(user, via=Via.SYSTEM)
    raise NotFound(f"no user {name!r} (tocsin users add {name} --role duty_officer --unit …)")


def _alert(container: Container, text: str) -> PublicAlert:
    """The alert an identifier or a unique end of one names."""
    views = container.cap.views
    try:
        return views.get(text, principal=SYSTEM)
    except NotFound:
        found = [
            a
            for a in views.find(principal=SYSTEM, limit=5000)
            if a.identifier.endswith(text) or a.identifier.startswith(text)
        ]
        if len(found) == 1:
            return found[0]
        raise NotFound(f"{'no' if not found else 'several'} public alerts match {text!r}") from None


def _said(alert: PublicAlert, what: str) -> None:
    console.print(
        f"{what} {alert.identifier}: {alert.state.value} ({alert.msg_type.value}, "
        f"{alert.level.value}, {', '.join(alert.regions)})",
        markup=False,
        soft_wrap=True,
    )
    if alert.xml is not None:
        console.print(f"published: {_url(alert)}", markup=False, soft_wrap=True)


def _url(alert: PublicAlert) -> str:
    return f"/cap/{alert.identifier}.xml"


@cap_app.command("draft")
def draft(
    by: By,
    warning: Annotated[
        str | None, typer.Argument(metavar="[WARNING_ID]", help="Draft from this warning")
    ] = None,
    region: Annotated[
        list[str] | None, typer.Option(metavar="REGION", help="By hand: a region (repeatable)")
    ] = None,
    domain: Annotated[
        str | None, typer.Option(metavar="DOMAIN", help="By hand: the domain")
    ] = None,
    level: Annotated[str | None, typer.Option(metavar="LEVEL", help="By hand: the level")] = None,
    headline: Annotated[
        list[str] | None,
        typer.Option(metavar="LANG=TEXT", help="Your own headline for a language"),
    ] = None,
    reason: ReasonOption = "",
    db: DbOption = None,
    config: ConfigOption = None,
) -> None:
    """Draft a public alert from a warning (its id or a unique prefix), or by hand."""
    from tocsin.services.publication import Choices

    texts = _pairs(headline or [], "--headline", "headline")
    with reported():
        container = open_container(db, config)
        person = _user(container, by)
        choices = Choices(texts=texts)
        if warning is not None:
            found = container.warnings.resolve(warning, principal=person, open_only=True)
            alert = container.cap.alerts.draft_from_warning(
                found.id, principal=person, choices=choices, reason=reason
            )
        else:
            levels = parse_levels([level] if level else None)
            if not region or domain is None or len(levels) != 1:
                raise InvalidInput(
                    [
                        Problem(
                            "options",
                            "--region/--domain/--level",
                            "give a WARNING_ID, or "
                            "at least one --region, a --domain and one --level",
                        )
                    ]
                )
            alert = container.cap.alerts.draft(
                regions=region,
                domain=domain,
                level=levels[0],
                principal=person,
                choices=choices,
                reason=reason,
            )
    _said(alert, "drafted")


def _pairs(values: list[str], option: str, field: str) -> dict[str, dict[str, str]]:
    out: dict[str, dict[str, str]] = {}
    for value in values:
        lang, sep, text = value.partition("=")
        if not sep or not lang.strip():
            raise typer.BadParameter(f"{value!r} is not LANG=TEXT", param_hint=option)
        out.setdefault(lang.strip(), {})[field] = text
    return out


def _command(name: str, alert: str, *, by: str, reason: str, db: str | None) -> None:
    """Run one lifecycle command on an alert as a user."""
    with reported():
        container = open_container(db)
        person = _user(container, by)
        found = _alert(container, alert)
        act = getattr(container.cap.alerts, name)
        done = act(found.identifier, principal=person, reason=reason)
    _said(
        done,
        {"submit": "submitted", "approve": "approved", "reject": "rejected"}.get(name, name + "ed"),
    )


@cap_app.command("submit")
def submit(alert: AlertArg, by: By, reason: ReasonOption = "", db: DbOption = None) -> None:
    """Submit a draft for approval (refused, listing each problem, if it would not pass)."""
    _command("submit", alert, by=by, reason=reason, db=db)


@cap_app.command("approve")
def approve(alert: AlertArg, by: By, reason: ReasonOption = "", db: DbOption = None) -> None:
    """Approve a submitted alert (not its author); published at once unless configured not to."""
    _command("approve", alert, by=by, reason=reason, db=db)


@cap_app.command("reject")
def reject(alert: AlertArg, by: By, reason: ReasonOption, db: DbOption = None) -> None:
    """Send a submitted alert back to its author, with the reason."""
    _command("reject", alert, by=by, reason=reason, db=db)


@cap_app.command("publish")
def publish(alert: AlertArg, by: By, reason: ReasonOption = "", db: DbOption = None) -> None:
    """Publish an approved alert."""
    _command("publish", alert, by=by, reason=reason, db=db)


@cap_app.command("list")
def list_alerts(
    state: Annotated[
        list[str] | None, typer.Option(metavar="STATE", help="draft, submitted, … (repeatable)")
    ] = None,
    warning: Annotated[
        str | None, typer.Option(metavar="WARNING_ID", help="Those issued about a warning")
    ] = None,
    imported: Annotated[bool, typer.Option(help="Other agencies' alerts instead")] = False,
    db: DbOption = None,
) -> None:
    """List public alerts, most recently changed first (or the alerts imported)."""
    from tocsin.core.cap.lifecycle import AlertState

    known = {s.value for s in AlertState}
    bad = [s for s in state or () if s not in known]
    if bad:
        raise typer.BadParameter(f"unknown state {bad[0]!r} (known: {', '.join(known)})")
    with reported():
        container = open_container(db)
        if imported:
            rows = [
                (
                    r.sender,
                    r.identifier,
                    r.msg_type.value,
                    r.level.value if r.level else "-",
                    ",".join(r.regions) or "-",
                    "ended" if r.ended_at else "live",
                    r.headline,
                )
                for r in container.cap.imports.find(principal=SYSTEM, limit=500)
            ]
            columns = ("sender", "identifier", "type", "level", "regions", "state", "headline")
        else:
            states = [AlertState(s) for s in state or ()]
            found = container.cap.views.find(
                principal=SYSTEM, states=states, warning_id=warning, limit=500
            )
            rows = [
                (
                    a.identifier,
                    a.state.value,
                    a.msg_type.value,
                    a.level.value,
                    ",".join(a.regions),
                    a.updated_at.isoformat()[:16],
                    _headline(a),
                )
                for a in found
            ]
            columns = ("identifier", "state", "type", "level", "regions", "changed", "headline")
    print_table(columns, rows, keys={"identifier"})


def _headline(alert: PublicAlert) -> str:
    infos = alert.message.infos
    return (infos[0].headline or infos[0].event) if infos else ""


@cap_app.command("show")
def show(
    alert: AlertArg,
    xml: Annotated[bool, typer.Option("--xml", help="Print the CAP document only")] = False,
    db: DbOption = None,
) -> None:
    """Show an alert: its state, history, and CAP document with every check's problem."""
    with reported():
        container = open_container(db)
        found = _alert(container, alert)
        preview = container.cap.views.preview(found.identifier, principal=SYSTEM)
        trail = container.cap.views.history(found.identifier, principal=SYSTEM)
    if xml:
        console.print(preview.xml, markup=False, soft_wrap=True, highlight=False)
        return
    _said(found, "public alert")
    for record in trail:
        console.print(
            f"  {record.at.isoformat()[:19]}  {record.kind.removeprefix('public_alert.'):10} "
            f"{record.actor}: {record.reason}",
            markup=False,
            soft_wrap=True,
        )
    if preview.problems:
        errors.print(f"{len(preview.problems)} problem(s) would block publication:")
        print_problems(preview.problems)
    console.print(preview.xml, markup=False, soft_wrap=True, highlight=False)


@cap_app.command("validate")
def validate(
    file: Annotated[Path, typer.Argument(metavar="FILE", help="A CAP document or feed")],
) -> None:
    """Check a CAP 1.2 document (or an Atom/RSS feed embedding alerts): the OASIS schema, then
    the rules beyond it. Exit 0 when valid, 2 with every problem listed otherwise."""
    from tocsin.bootstrap import cap_codec
    from tocsin.core.cap.config import CapConfig
    from tocsin.services.cap_imports import check_document

    with reported():
        data = _read(file)
        limit = CapConfig().max_feed_bytes
        checked = check_document(cap_codec(settings()), data, where=str(file), max_bytes=limit)
    if checked.problems:
        errors.print(f"[bold red]invalid:[/] {file}: {len(checked.problems)} problem(s)")
        print_problems(checked.problems)
        raise typer.Exit(2)
    console.print(f"valid: {file} ({len(checked.alerts)} CAP 1.2 alert(s))", markup=False)


def _read(file: Path) -> bytes:
    try:
        return file.read_bytes()
    except OSError as err:
        raise InvalidInput([Problem(str(file), "file", err.strerror or str(err))]) from None


@cap_app.command("import")
def import_(
    source: Annotated[
        str, typer.Argument(metavar="SOURCE", help="A file or URL: a CAP document or a feed")
    ],
    db: DbOption = None,
    config: ConfigOption = None,
) -> None:
    """Import other agencies' alerts from a file or URL (refused whole if any is invalid)."""
    with reported():
        container = open_container(db, config)
        result = container.cap.imports.from_source(source, principal=SYSTEM)
    changed = len(result.warning_events)
    console.print(
        f"imported {result.new} new of {result.read} alert(s) from {source}: "
        f"{result.events} event(s), {changed} warning change(s)",
        markup=False,
        soft_wrap=True,
    )
