"""`tocsin risk warn`: compute a risk model and let its classes raise, change or lift warnings.

A class scheme on the model's root rates overall risk (for INFORM: natural and human hazards,
vulnerability and lack of coping capacity together), so its warnings go to the composite-risk
domain (`composite`), never to one hazard's domain such as `natural`: a country's conflict
risk must not be filed as a natural hazard.
"""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path
from typing import Annotated

import typer

from tocsin.cli.common import DbOption, check_known, console, open_container, reported

COMPOSITE = "composite"  # the domain of overall (several-hazard) risk; defaults/domains.yaml


def risk_warn(
    model: Annotated[
        Path,
        typer.Option(metavar="FILE", help="Risk model YAML", exists=True, dir_okay=False),
    ],
    input_csv: Annotated[
        Path,
        typer.Option(
            "--input", metavar="CSV", help="Indicator table CSV", exists=True, dir_okay=False
        ),
    ],
    domain: Annotated[
        str,
        typer.Option(
            metavar="DOMAIN",
            help=f"Domain of the warnings ({COMPOSITE} for classes of the model's overall risk)",
        ),
    ],
    db: DbOption = None,
) -> None:
    """Compute the model and bring its regions' risk warnings in line with their classes."""
    from tocsin.adapters.risk_model_yaml import load_model
    from tocsin.adapters.risk_tables_csv import read_indicator_csv
    from tocsin.services import risk as risk_service
    from tocsin.services.risk_warnings import reconcile_risk_warnings

    with reported():
        risk_model = load_model(model)
        classified = {node for scheme in risk_model.classes for node in scheme.nodes}
        if risk_model.root in classified and domain != COMPOSITE:
            raise typer.BadParameter(
                f"the classes of {risk_model.root} rate the overall risk of "
                f"{risk_model.name}, not one hazard: file them under --domain {COMPOSITE}",
                param_hint="--domain",
            )
        table = read_indicator_csv(input_csv, risk_model.table, required=risk_model.table_input_ids)
        result = risk_service.compute(risk_model, table)
        classes = risk_service.region_classes(risk_model, table, result)
        container = open_container(db)
        check_known("--domain", domain, container.catalog.domains)
        events = reconcile_risk_warnings(
            container.store,
            container.bus,
            container.clock,
            model=risk_model.id,
            domain=domain,
            levels=classes,
            known_regions=set(container.catalog.regions.regions),
            names={n.id: n.name or n.id for n in risk_model.nodes},
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
