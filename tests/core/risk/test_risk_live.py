"""Live inputs and model extension: INFORM with the cyber domain keeps every nation without
cyber data exactly; the roll-up gathers a region's subtree; a bad extension is refused naming
the file and the place."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from tocsin.adapters.risk_model_yaml import load_model
from tocsin.adapters.risk_tables_csv import read_indicator_csv
from tocsin.core.errors import InvalidConfig
from tocsin.core.regions import Region, RegionCode, RegionTree
from tocsin.core.risk.live import FloatArray, domain_scores, with_columns
from tocsin.core.risk.table import IndicatorTable
from tocsin.services import risk as service

ROOT = Path(__file__).resolve().parents[3]
INFORM_TABLE = ROOT.parent / "shared/benchdata/inform/inform_risk_2023_v065_indicator_data.csv"
needs_inform = pytest.mark.skipif(not INFORM_TABLE.exists(), reason="INFORM benchdata absent")


@needs_inform
def test_inform_with_cyber_keeps_nations_without_cyber_data_exactly() -> None:
    """Where the live cyber score is missing, every INFORM node equals the base model's; where a
    nation has one, its hazard and risk follow INFORM's operators."""
    base = load_model(ROOT / "models/inform_2023.yaml")
    cyber = load_model(ROOT / "models/inform_2023_cyber.yaml")
    assert [i.id for i in cyber.live_inputs] == ["CY_SCORE"]
    table = read_indicator_csv(INFORM_TABLE, cyber.table, required=cyber.table_input_ids)
    score = np.full(len(table.ids), np.nan)
    ita = table.ids.index("ITA")
    score[ita] = 9.0
    plain = service.compute(base, table)
    live = service.compute(cyber, with_columns(table, {"CY_SCORE": score}))
    others = np.arange(len(table.ids)) != ita
    for node in base.node_ids:
        assert np.array_equal(plain.values[node][others], live.values[node][others], equal_nan=True)
    ha = [plain.values[k][ita] for k in ("HA.NAT", "HA.HUM")] + [9.0]
    expected = (10 / 9) * (10 - np.prod([10 - 0.9 * x for x in ha]) ** (1 / 3))
    assert live.values["HA"][ita] == round(expected, 1)
    assert live.values["INFORM"][ita] > plain.values["INFORM"][ita]


def _tree() -> RegionTree:
    regions = [
        Region(RegionCode("N"), "N", "nation", None),
        Region(RegionCode("P1"), "P1", "province", RegionCode("N")),
        Region(RegionCode("P2"), "P2", "province", RegionCode("N")),
        Region(RegionCode("D11"), "D11", "district", RegionCode("P1")),
        Region(RegionCode("D12"), "D12", "district", RegionCode("P1")),
    ]
    return RegionTree.build(("nation", "province", "district"), regions)


def test_domain_scores_roll_up_the_subtree_by_each_inputs_rule() -> None:
    """Counts are summed and the worst CVSS is the maximum before the cyber model scores them;
    a region with nothing in its subtree is missing."""
    model = load_model(ROOT / "models/cyber_exposure.yaml")
    inputs = {
        "CY_ASSETS": np.array([2.0, 2.0]),
        "CY_EXPOSED": np.array([1.0, 0.0]),
        "CY_KEV": np.array([1.0, 0.0]),
        "CY_KEV_OVERDUE": np.array([0.0, 0.0]),
        "CY_MAX_CVSS": np.array([9.8, np.nan]),
        "CY_DEPENDENT": np.array([0.0, 1.0]),
    }
    scores = domain_scores(
        model, codes=["D11", "D12"], inputs=inputs, tree=_tree(), targets=["P1", "P2", "N", "D12"]
    )
    summed = {k: np.array([np.nansum(v) if k != "CY_MAX_CVSS" else 9.8]) for k, v in inputs.items()}
    by_hand = service.compute(model, _table(summed)).values["CYBER"][0]
    assert scores[0] == by_hand
    assert scores[2] == by_hand
    assert np.isnan(scores[1])
    d12 = {k: v[1:] for k, v in inputs.items()}
    assert scores[3] == service.compute(model, _table(d12)).values["CYBER"][0]


def _table(columns: dict[str, FloatArray]) -> IndicatorTable:
    return IndicatorTable(("X",), ("X",), columns)


@pytest.mark.parametrize(
    ("extension", "expected"),
    [
        ("extends: base.yaml\ninputs: [A]\n", "ext.yaml: inputs[0]: the base model already"),
        ("extends: nowhere.yaml\n", "nowhere.yaml: cannot read"),
        ("extends: ext.yaml\n", "more than 8 models extend"),
        ("extends: base.yaml\ninputs: [{id: Z, live: weather}]\n", "inputs[1]"),
    ],
)
def test_bad_extensions_are_refused_naming_the_file(
    tmp_path: Path, extension: str, expected: str
) -> None:
    """A repeated input, a missing base, a loop and an unknown live source are each refused."""
    (tmp_path / "base.yaml").write_text(
        "id: b\nroot: R\ninputs: [A]\nnodes: [{id: R, expr: '{A}'}]\n", encoding="utf-8"
    )
    (tmp_path / "ext.yaml").write_text(extension, encoding="utf-8")
    with pytest.raises(InvalidConfig) as err:
        load_model(tmp_path / "ext.yaml")
    assert expected in str(err.value)
