"""``tocsin risk``: compute composite risk indices, explain a region, run what-if scenarios.

The engine, adapters and services are imported inside the commands, so `tocsin --help` and the
other commands never load them.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from tocsin.cli.common import (
    ConfigOption,
    DbOption,
    console,
    errors,
    group,
    open_container,
    print_problems,
    reported,
)
from tocsin.cli.principal import SYSTEM
from tocsin.core.errors import InvalidInput
from tocsin.core.levels import Level

if TYPE_CHECKING:
    from tocsin.adapters.risk_scenario_yaml import ScenarioFile
    from tocsin.core.regions import RegionTree
    from tocsin.core.risk.model import RiskModel
    from tocsin.core.risk.scenarios import ScenarioOutcome
    from tocsin.core.risk.table import IndicatorTable

app = group("Composite risk indices, cascades and what-if scenarios.")

ModelOption = Annotated[Path, typer.Option("--model", metavar="FILE", help="Risk model (YAML).")]
InputOption = Annotated[
    Path,
    typer.Option(
        "--input",
        metavar="CSV",
        help="Indicators CSV: one row per region (and period), one column per id.",
    ),
]
PeriodColumnOption = Annotated[
    str | None,
    typer.Option(
        "--period-column",
        metavar="COLUMN",
        help="Column of the input holding the period (overrides the model's table.period_column).",
    ),
]


@contextmanager
def read_only() -> Iterator[None]:
    """Errors of a command that stores nothing: its input's problems and exit code 2 (other
    errors: one sentence and exit code 1). It never says "nothing was stored": nothing would be."""
    with reported():
        try:
            yield
        except InvalidInput as err:
            errors.print(f"[bold red]error:[/] invalid input ({len(err.problems)} problem(s))")
            print_problems(err.problems)
            raise typer.Exit(2) from err


def _load(
    model: Path,
    input: Path,
    *,
    period_column: str | None,
    db: str | None = None,
    config: Path | None = None,
) -> tuple[RiskModel, IndicatorTable]:
    from tocsin.adapters.risk_model_yaml import load_model
    from tocsin.adapters.risk_tables_csv import read_indicator_csv

    m = load_model(model)
    if period_column is not None:
        m = replace(m, table=replace(m.table, period_column=period_column))
    table = read_indicator_csv(input, m.table, required=m.table_input_ids)
    if not m.live_inputs:
        return m, table
    if db is None:
        live = ", ".join(i.id for i in m.live_inputs)
        errors.print(f"note: the model's live inputs ({live}) are missing: give --db to fill them")
        return m, table
    return m, _with_live(m, table, db=db, config=config)


def _with_live(
    m: RiskModel, table: IndicatorTable, *, db: str, config: Path | None
) -> IndicatorTable:
    """The table with the model's live inputs filled from the database (the cyber exposure now,
    rolled up to the table's regions), as the dashboard's risk view computes them."""
    from tocsin.core.exposure.regions import input_columns
    from tocsin.core.risk.live import domain_scores, with_columns
    from tocsin.web.risk import cyber_model

    container = open_container(db, config)
    try:
        cyber = cyber_model(container.settings)
        rows = container.exposure.regions(principal=SYSTEM)
        codes, inputs = input_columns(rows)
        scores = domain_scores(
            cyber, codes=codes, inputs=inputs, tree=container.catalog.regions, targets=table.ids
        )
    finally:
        container.close()
    return with_columns(table, {spec.id: scores for spec in m.live_inputs})


@app.command("compute")
def compute(
    model: ModelOption,
    input: InputOption,
    out: Annotated[Path, typer.Option("--out", metavar="CSV", help="Scores CSV to write.")],
    node: Annotated[
        list[str] | None,
        typer.Option("--node", metavar="NODE", help="Only these node columns (repeatable)."),
    ] = None,
    coverage: Annotated[
        bool, typer.Option("--coverage", help="Add <node>:coverage columns (share present).")
    ] = False,
    period_column: PeriodColumnOption = None,
    db: DbOption = None,
    config: ConfigOption = None,
) -> None:
    """Score every region (and period): one column per node id, plus class and rank; a model's
    live inputs (the cyber exposure) are filled from the database --db names."""
    from tocsin.adapters.risk_tables_csv import write_rows_csv
    from tocsin.services import risk as service

    with read_only():
        m, table = _load(model, input, period_column=period_column, db=db, config=config)
        result = service.compute(m, table)
        header, rows = service.score_rows(m, table, result, nodes=node, coverage=coverage)
        write_rows_csv(out, header, rows)
    periods = f" in {len(table.period_labels())} periods" if table.periods else ""
    console.print(f"{len(rows)} rows{periods} × {len(header) - 2} columns → {out}")


@app.command("explain")
def explain(
    model: ModelOption,
    input: InputOption,
    region: Annotated[
        str, typer.Option("--region", metavar="REGION", help="Region id (the model's id column).")
    ],
    period: Annotated[
        str | None,
        typer.Option("--period", metavar="PERIOD", help="Period to explain (default: the latest)."),
    ] = None,
    reference: Annotated[
        str,
        typer.Option(
            "--reference",
            metavar="REFERENCE",
            help="Split against: average (of the regions in the period), zero, or a region id.",
        ),
    ] = "average",
    depth: Annotated[int, typer.Option("--depth", metavar="N", help="Deepest level to show.")] = 3,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON instead of a table.")] = False,
    period_column: PeriodColumnOption = None,
    db: DbOption = None,
    config: ConfigOption = None,
) -> None:
    """Each node's value and coverage, and its Shapley contribution to its parent: a parent's
    value is its value at the reference plus its children's contributions."""
    from tocsin.cli.risk_display import explanation_rows, explanation_table
    from tocsin.services import risk as service

    with read_only():
        m, table = _load(model, input, period_column=period_column, db=db, config=config)
        result = service.compute(m, table)
        rows = service.explain(m, table, result, region, period=period, reference=reference)
    if as_json:
        console.print_json(json.dumps([r for r in explanation_rows(rows) if r["depth"] <= depth]))
        return
    shown = f"{region} ({period or table.latest_period()})" if table.periods else region
    title = f"{m.name}: {shown}"
    console.print(explanation_table(rows, title=title, depth=depth, reference=reference))


@app.command("scenario")
def scenario(
    model: ModelOption,
    input: InputOption,
    scenario_file: Annotated[
        Path | None, typer.Option("--scenario", metavar="FILE", help="Scenario (YAML).")
    ] = None,
    out: Annotated[
        Path | None,
        typer.Option("--out", metavar="CSV", help="CSV of every changed (node, region)."),
    ] = None,
    live: Annotated[
        bool,
        typer.Option(
            "--live", help="Fail or degrade the assets that open warnings in the database name."
        ),
    ] = False,
    failed_at: Annotated[
        Level, typer.Option("--failed-at", help="With --live: warning level of a failed asset.")
    ] = Level.RED,
    degraded_at: Annotated[
        Level, typer.Option("--degraded-at", help="With --live: level of a degraded asset.")
    ] = Level.ORANGE,
    db: DbOption = None,
    period_column: PeriodColumnOption = None,
) -> None:
    """Run a what-if: perturbations, asset failures (what-if or live) and their effect on the
    index, sector demand; report the differences. With --live, the database's open warnings on
    assets fail or degrade them, over the stored configuration's assets and regions."""
    from tocsin.adapters.risk_scenario_yaml import load_scenario
    from tocsin.adapters.risk_tables_csv import write_rows_csv
    from tocsin.services import risk as service

    if scenario_file is None and not live:
        raise typer.BadParameter("give --scenario FILE, or --live", param_hint="--scenario")
    with read_only():
        m, table = _load(model, input, period_column=period_column, db=db if live else None)
        spec = load_scenario(scenario_file) if scenario_file is not None else None
        tree = None
        if live:
            spec, tree = _live(spec, db=db, failed_at=failed_at, degraded_at=degraded_at)
        assert spec is not None  # noqa: S101 - one of the two was given
        outcome = service.scenario(
            m,
            table,
            spec.scenario,
            tree=tree,
            requirements=spec.requirements,
            sites=spec.sites,
            sectors=spec.sectors,
        )
        header, rows = service.change_rows(outcome, m)
        if out is not None:
            write_rows_csv(out, header, rows)
    _report(spec, outcome, m)


def _live(
    spec: ScenarioFile | None,
    *,
    db: str | None,
    failed_at: Level,
    degraded_at: Level,
) -> tuple[ScenarioFile, RegionTree]:
    """The scenario file's what-if plus the assets open warnings say are down; the regions."""
    from tocsin.adapters.risk_scenario_yaml import ScenarioFile
    from tocsin.services import risk as service

    container = open_container(db)
    try:
        warnings = container.warnings.find(open_only=True, limit=100_000, principal=SYSTEM)
        live = service.live_assets(
            warnings, container.catalog, failed_at=failed_at, degraded_at=degraded_at
        )
        tree = container.catalog.regions
    finally:
        container.close()
    if spec is None:
        return ScenarioFile(live.scenario, live.requirements, live.sites, None), tree
    what_if = replace(
        spec.scenario,
        failed_assets=(*spec.scenario.failed_assets, *live.scenario.failed_assets),
        degraded_assets=(*spec.scenario.degraded_assets, *live.scenario.degraded_assets),
    )
    merged = ScenarioFile(
        what_if,
        {**live.requirements, **spec.requirements},
        {**live.sites, **spec.sites},
        spec.sectors,
    )
    return merged, tree


def _report(spec: ScenarioFile, outcome: ScenarioOutcome, m: RiskModel) -> None:
    root_changes = [c for c in outcome.changes if c.node == m.root]
    console.print(
        f"scenario {spec.scenario.name!r}: {len(outcome.changes)} changed values, "
        f"{len(root_changes)} regions with a changed {m.root}"
    )
    for c in root_changes[:20]:
        at = f" {c.period}" if c.period else ""
        console.print(f"  {c.region}{at}: {c.baseline:g} → {c.scenario:g} ({c.delta:+.3g})")
    if outcome.cascade is not None or outcome.degraded_by_region:
        failed = sorted(a for v in outcome.failed_by_region.values() for a in v)
        degraded = sorted(a for v in outcome.degraded_by_region.values() for a in v)
        console.print(
            f"assets failed: {', '.join(failed) or '-'}; degraded: {', '.join(degraded) or '-'}"
        )
    for e in outcome.effects:
        console.print(
            f"  {e.asset} {e.state.value}: {e.target} in {e.region} {e.op.value} {e.amount:g}"
        )
    for sector, (before, after) in outcome.inoperability.items():
        console.print(f"  sector {sector}: inoperability {before:.3f} → {after:.3f}")


@app.command("cascade")
def cascade(
    a_star: Annotated[
        str, typer.Option("--a-star", metavar="JSON", help="A* as JSON, e.g. [[0,0.8],[0.2,0]].")
    ],
    c_star: Annotated[
        str, typer.Option("--c-star", metavar="JSON", help="c* as JSON, e.g. [0,0.6].")
    ],
) -> None:
    """Static inoperability q = (I − A*)⁻¹ c* of interdependent sectors (IIM), clipped to [0, 1]."""
    from tocsin.core.cascades.iim import static_inoperability

    try:
        q = static_inoperability(json.loads(a_star), json.loads(c_star))
    except (ValueError, json.JSONDecodeError) as err:
        raise typer.BadParameter(str(err)) from err
    console.print(json.dumps([round(float(v), 6) for v in q]))
