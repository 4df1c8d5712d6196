"""`tocsin exposure`: vulnerability feeds, software inventories, patches, security alerts.

The database and the services are imported inside the commands (see `tocsin.cli.main`).
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from tocsin.cli.common import (
    ConfigOption,
    DbOption,
    console,
    group,
    open_container,
    owning_rules,
    print_table,
    reported,
)
from tocsin.cli.principal import SYSTEM
from tocsin.core.access import system_principal
from tocsin.core.exposure.advisories import Feed
from tocsin.core.security_alerts import AlertFormat

if TYPE_CHECKING:
    from tocsin.services.exposure import Change

app = group("Cyber exposure: advisories on our assets, patches, security alerts.")

ByOption = Annotated[str, typer.Option("--by", metavar="NAME", help="Who does it (audit trail)")]


def _report(change: Change, what: str) -> None:
    moved = ", ".join(
        f"{e.kind.value.split('.')[-1]} {e.to_level.value}" for e in change.transitions
    )
    console.print(
        f"{what}: {change.stored} stored; {len(change.transitions)} warning change(s)"
        + (f" ({moved})" if moved else ""),
        markup=False,
        soft_wrap=True,
    )


@app.command("import")
def import_feed(
    feed: Annotated[Feed, typer.Argument(help="nvd (CVE JSON 2.0), kev (CISA KEV), osv")],
    location: Annotated[str, typer.Argument(metavar="FILE|URL", help="A file or http(s) URL")],
    by: ByOption = "cli",
    db: DbOption = None,
    config: ConfigOption = None,
) -> None:
    """Import a vulnerability feed; matching advisories raise cyber warnings."""
    from tocsin.adapters.vulnerability_feeds import parse_feed, read_feed_text

    with reported():
        advisories = parse_feed(feed, read_feed_text(location), where=location)
        container = open_container(db, config)
        change = container.exposure.import_advisories(
            advisories, principal=system_principal(by), where=location
        )
    _report(change, f"{feed.value} {location}")


@app.command("inventory")
def import_inventory(
    file: Annotated[Path, typer.Argument(metavar="FILE", help="CSV (asset,software) or JSON")],
    by: ByOption = "cli",
    db: DbOption = None,
    config: ConfigOption = None,
) -> None:
    """Import software inventories (replacing the imported software of the assets named)."""
    from tocsin.adapters.inventory_files import inventory_rows
    from tocsin.adapters.vulnerability_feeds import read_feed_text

    with reported():
        rows = inventory_rows(read_feed_text(str(file)), where=str(file))
        container = open_container(db, config)
        change = container.exposure.import_inventory(
            rows, principal=system_principal(by), where=str(file)
        )
    _report(change, str(file))


@app.command("patch")
def patch(
    asset: Annotated[str, typer.Argument(help="Asset code")],
    advisory: Annotated[str, typer.Argument(help="Advisory id (CVE-…, GHSA-…)")],
    by: ByOption,
    note: Annotated[str, typer.Option(help="What was done (version installed, mitigation)")] = "",
    db: DbOption = None,
) -> None:
    """Record a patch on an asset: the advisory's warning there is lifted."""
    with reported():
        change = open_container(db).exposure.record_patch(
            asset, advisory, principal=system_principal(by), note=note
        )
    _report(change, f"patch {asset} {advisory}")


@app.command("assets")
def assets(db: DbOption = None) -> None:
    """Assets with software: exposures (level, advisory) and what fails with each."""
    with reported():
        found = open_container(db).exposure.assets(principal=SYSTEM)
    print_table(
        ("asset", "region", "software", "exposures", "fails with it", "regions at risk"),
        (
            (
                a.asset,
                a.region,
                str(len(a.software)),
                " ".join(
                    f"{e.advisory.id}:{e.level.value}" + ("(patched)" if e.patched else "")
                    for e in a.exposures
                )
                or "-",
                " ".join(a.consequences.failed) or "-",
                " ".join(a.consequences.regions) or "-",
            )
            for a in found
        ),
        keys=("asset",),
    )


@app.command("known-exploited")
def known_exploited(db: DbOption = None) -> None:
    """Unpatched known-exploited vulnerabilities on our assets, the earliest due date first."""
    from tocsin.core.exposure.exposures import by_due_date

    with reported():
        found = [
            e for a in open_container(db).exposure.assets(principal=SYSTEM) for e in a.exposures
        ]
    print_table(
        ("due", "advisory", "asset", "level", "cvss", "required action"),
        (
            (
                e.due_on.isoformat() if e.due_on else "-",
                e.advisory.id,
                e.asset,
                e.level.value,
                "-" if e.advisory.cvss_score is None else f"{e.advisory.cvss_score:g}",
                e.advisory.required_action or "-",
            )
            for e in by_due_date(found)
        ),
        keys=("advisory", "asset", "due"),
    )


@app.command("alerts")
def alerts(
    kind: Annotated[AlertFormat, typer.Argument(metavar="FORMAT", help="wazuh, suricata, cef")],
    file: Annotated[Path, typer.Argument(metavar="FILE", help="Alerts as the tool writes them")],
    by: ByOption = "cli",
    db: DbOption = None,
    config: ConfigOption = None,
) -> None:
    """Read security alerts from a file: placed on assets, stored once, counted."""
    from tocsin.adapters.security_alert_formats import parse_alerts
    from tocsin.adapters.vulnerability_feeds import read_feed_text

    with reported():
        container = open_container(db, config)
        with owning_rules(container):  # the counts go through the rules
            text = read_feed_text(str(file))
            found = parse_alerts(kind, text, received_at=container.clock.now())
            got = container.security_alerts.receive(found, principal=system_principal(by))
    console.print(
        f"{file}: {got.received} alerts, {got.stored} new on our assets, "
        f"{got.unplaced} on no known asset (not kept), {got.observations} count(s) written",
        markup=False,
        soft_wrap=True,
    )


@app.command("regions")
def regions(
    out: Annotated[
        Path | None, typer.Option("--out", metavar="FILE", help="Write CSV (a risk model table)")
    ] = None,
    db: DbOption = None,
) -> None:
    """Each region's cyber exposure: a table of inputs for a composite risk model."""
    import csv

    from tocsin.core.exposure.regions import table_rows

    with reported():
        container = open_container(db)
        found = container.exposure.regions(principal=SYSTEM)
    names = {str(c): r.name for c, r in container.catalog.regions.regions.items()}
    header, *rows = table_rows(found, names)
    if out is None:
        print_table(header, rows, keys=("region",))
        return
    with out.open("w", newline="", encoding="utf-8") as fh:
        csv.writer(fh).writerows([header, *rows])
    console.print(f"{out}: {len(rows)} region(s)", markup=False)
