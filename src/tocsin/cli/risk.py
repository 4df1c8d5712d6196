"""``tocsin risk``: compute composite risk indices, explain a region, run what-if scenarios."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from tocsin.cli.common import console, group, reported

app = group("Composite risk indices, cascades and what-if scenarios.")

ModelOption = Annotated[Path, typer.Option("--model", metavar="FILE", help="Risk model (YAML).")]
InputOption = Annotated[
    Path,
    typer.Option(
        "--input", metavar="CSV", help="Indicators CSV: one row per region, one column per id."
    ),
]


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
) -> None:
    """Score every region: one column per node id, plus class and rank."""
    from tocsin.adapters.risk_model_yaml import load_model, read_indicator_csv, write_rows_csv
    from tocsin.services import risk as service

    with reported():
        m = load_model(model)
        table = read_indicator_csv(input, m.table, required=m.input_ids)
        result = service.compute(m, table)
        header, rows = service.score_rows(m, table, result, nodes=node, coverage=coverage)
        write_rows_csv(out, header, rows)
    console.print(f"{len(rows)} regions × {len(header) - 2} columns → {out}")


@app.command("explain")
def explain(
    model: ModelOption,
    input: InputOption,
    region: Annotated[
        str, typer.Option("--region", metavar="REGION", help="Region id (the model's id column).")
    ],
    depth: Annotated[int, typer.Option("--depth", metavar="N", help="Deepest level to show.")] = 3,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON instead of a table.")] = False,
) -> None:
    """Show each node's value, coverage and contribution to its parent for one region."""
    from tocsin.adapters.risk_model_yaml import format_value, load_model, read_indicator_csv
    from tocsin.services import risk as service

    with reported():
        m = load_model(model)
        table = read_indicator_csv(input, m.table, required=m.input_ids)
        result = service.compute(m, table)
        rows = [r for r in service.explain(m, table, result, region) if r.depth <= depth]
    if as_json:
        console.print_json(
            json.dumps(
                [
                    {
                        "node": r.node,
                        "name": r.name,
                        "depth": r.depth,
                        "value": None if r.value != r.value else r.value,
                        "coverage": r.coverage,
                        "parent": r.parent,
                        "contribution": r.contribution,
                    }
                    for r in rows
                ]
            )
        )
        return
    out = Table(title=f"{m.name}: {region}")
    for col in ("node", "name", "value", "coverage", "contribution"):
        out.add_column(col)
    for r in rows:
        out.add_row(
            "  " * r.depth + r.node,
            r.name,
            format_value(r.value) or "missing",
            f"{r.coverage:.2f}",
            "" if r.contribution is None else f"{r.contribution:.3f}",
        )
    console.print(out)


@app.command("scenario")
def scenario(
    model: ModelOption,
    input: InputOption,
    scenario_file: Annotated[
        Path, typer.Option("--scenario", metavar="FILE", help="Scenario (YAML).")
    ],
    out: Annotated[
        Path | None,
        typer.Option("--out", metavar="CSV", help="CSV of every changed (node, region)."),
    ] = None,
) -> None:
    """Run a what-if: perturbations, asset failures, sector demand; report the differences."""
    from tocsin.adapters.risk_model_yaml import (
        load_model,
        load_scenario,
        read_indicator_csv,
        write_rows_csv,
    )
    from tocsin.services import risk as service

    with reported():
        m = load_model(model)
        table = read_indicator_csv(input, m.table, required=m.input_ids)
        spec = load_scenario(scenario_file)
        outcome = service.scenario(
            m,
            table,
            spec.scenario,
            requirements=spec.requirements,
            asset_regions=spec.asset_regions,
            sectors=spec.sectors,
        )
        header, rows = service.change_rows(outcome, m)
        if out is not None:
            write_rows_csv(out, header, rows)
    root_changes = [c for c in outcome.changes if c.node == m.root]
    console.print(
        f"scenario {spec.scenario.name!r}: {len(outcome.changes)} changed values, "
        f"{len(root_changes)} regions with a changed {m.root}"
    )
    for c in root_changes[:20]:
        console.print(f"  {c.region}: {c.baseline:g} → {c.scenario:g} ({c.delta:+.3g})")
    if outcome.cascade is not None:
        console.print(
            f"assets failed: {', '.join(sorted(outcome.cascade.failed)) or '-'}; "
            f"degraded: {', '.join(sorted(outcome.cascade.degraded)) or '-'}"
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
