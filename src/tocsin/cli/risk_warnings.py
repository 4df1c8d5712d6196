"""`tocsin risk warn`: compute a risk model and let its classes raise, change or lift warnings."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path
from typing import Annotated

import typer

from tocsin.adapters.risk_model_yaml import load_model
from tocsin.adapters.risk_tables_csv import read_indicator_csv
from tocsin.bootstrap import build
from tocsin.cli.common import DbOption, console, reported, settings
from tocsin.services import risk as risk_service
from tocsin.services.risk_warnings import reconcile_risk_warnings


def risk_warn(
    model: Annotated[Path, typer.Option(help="Risk model YAML", exists=True, dir_okay=False)],
    input_csv: Annotated[
        Path, typer.Option("--input", help="Indicator table CSV", exists=True, dir_okay=False)
    ],
    domain: Annotated[str, typer.Option(help="Domain of the warnings (e.g. natural)")],
    db: DbOption = None,
) -> None:
    """Compute the model and bring its regions' risk warnings in line with their classes."""
    with reported():
        risk_model = load_model(model)
        table = read_indicator_csv(
            input_csv, risk_model.table, required=[i.id for i in risk_model.inputs]
        )
        result = risk_service.compute(risk_model, table)
        classes = risk_service.region_classes(risk_model, table, result)
        container = build(settings(db))
        if domain not in container.catalog.domains:
            raise typer.BadParameter(f"unknown domain {domain!r}", param_hint="--domain")
        events = reconcile_risk_warnings(
            container.store,
            container.bus,
            container.clock,
            model=risk_model.id,
            domain=domain,
            levels=classes,
            known_regions=set(container.catalog.regions.regions),
        )
        container.close()
    counts = Counter(e.kind.value for e in events)
    console.print(
        f"{len(classes)} classified (region, node) pairs; {len(events)} warning transitions"
    )
    console.print(
        json.dumps({"classified": len(classes), "transitions": dict(counts)}),
        markup=False,
        soft_wrap=True,
    )
