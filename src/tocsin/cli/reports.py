"""Public report commands: make a contact key, list the report types, delete due contacts.

The database and the services are imported inside the commands (see `tocsin.cli.main`).
"""

from __future__ import annotations

from tocsin.cli.common import (
    ConfigOption,
    DbOption,
    console,
    group,
    open_container,
    print_table,
    reported,
)

reports_app = group("Public hazard reports (Open311 GeoReport v2).")


@reports_app.command("new-key")
def reports_new_key() -> None:
    """Print a new key for sealing reporters' contacts (set it as TOCSIN_REPORT_CONTACT_KEY)."""
    from tocsin.adapters.contact_cipher import new_key

    console.print(new_key(), markup=False)


@reports_app.command("types")
def reports_types(db: DbOption = None, config: ConfigOption = None) -> None:
    """The hazard types the public can report, with their domain and cluster rules."""
    with reported():
        container = open_container(db, config)
        types = list(container.reports.types.values())
    print_table(
        ("code", "name", "domain", "cluster", "rules"),
        (
            (
                t.code,
                t.name,
                t.domain,
                f"{t.cluster_distance_m:g} m / {t.cluster_window_s} s",
                ", ".join(
                    f"≥{r.min_reports} → {r.level.value if r.level else r.action.value}"
                    for r in t.cluster_rules
                ),
            )
            for t in types
        ),
        keys={"code"},
    )


@reports_app.command("delete-contacts")
def reports_delete_contacts(db: DbOption = None, config: ConfigOption = None) -> None:
    """Delete every reporter's contact past its retention now (`tocsin serve` does it hourly);
    the reports stay."""
    with reported():
        container = open_container(db, config)
        gone = container.reports.delete_due_contacts()
    console.print(f"{gone} contact(s) deleted")
