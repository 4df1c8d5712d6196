"""Roll-up through the region hierarchy and what-if scenarios."""

from __future__ import annotations

import math

import numpy as np
import pytest

from tocsin.adapters.risk_model_yaml import model_from_mapping
from tocsin.core.regions import Region, RegionCode, RegionTree
from tocsin.core.risk.adjustments import AdjustOp
from tocsin.core.risk.infrastructure import AssetSite
from tocsin.core.risk.model import RiskModel
from tocsin.core.risk.rollup import evaluate_hierarchy, roll_up
from tocsin.core.risk.scenarios import (
    DemandChange,
    Perturbation,
    RegionSelector,
    Scenario,
    SectorSystem,
    run_scenario,
    run_scenario_hierarchy,
)


def _tree() -> RegionTree:
    def r(code: str, level: str, parent: str | None) -> Region:
        return Region(RegionCode(code), code, level, RegionCode(parent) if parent else None)

    regions = [
        r("N", "nation", None),
        r("P1", "province", "N"),
        r("P2", "province", "N"),
        r("c1", "cell", "P1"),
        r("c2", "cell", "P1"),
        r("c3", "cell", "P2"),
    ]
    return RegionTree.build(("nation", "province", "cell"), regions)


def _model() -> RiskModel:
    return model_from_mapping(
        {
            "id": "demo",
            "root": "R",
            "rollup": {"weight": "pop"},
            "defaults": {"round": 2},
            "inputs": [
                {"id": "pop", "rollup": "sum"},
                {"id": "exposed", "rollup": "sum"},
                {"id": "poverty", "rollup": "weighted_mean"},
            ],
            "nodes": [
                {"id": "FL", "expr": "{exposed} / {pop}", "normalise": {"lower": 0, "upper": 0.5}},
                {"id": "VU", "expr": "{poverty}", "normalise": {"lower": 0, "upper": 100}},
                {"id": "R", "aggregate": {"method": "mean", "children": ["FL", "VU"]}},
            ],
            "classes": [
                {"nodes": ["R", "FL"], "thresholds": [3, 6], "labels": ["low", "mid", "high"]}
            ],
        }
    )


INPUTS = {
    "pop": np.array([100.0, 300.0, 200.0]),
    "exposed": np.array([50.0, 0.0, 20.0]),
    "poverty": np.array([80.0, 40.0, math.nan]),
}


def test_roll_up_sums_absolutes_and_weights_relatives_by_population() -> None:
    out = roll_up(
        INPUTS,
        np.array([0, 0, 1]),
        2,
        {"pop": "sum", "exposed": "sum", "poverty": "weighted_mean"},
        INPUTS["pop"],
    )
    assert out["exposed"].tolist() == [50, 20]
    assert out["poverty"][0] == pytest.approx((80 * 100 + 40 * 300) / 400)
    assert math.isnan(out["poverty"][1])  # no present child


def test_hierarchy_normalises_after_aggregating() -> None:
    levels = evaluate_hierarchy(_model(), ["c1", "c2", "c3"], INPUTS, _tree())
    assert [lv.level for lv in levels] == ["cell", "province", "nation"]
    province = levels[1]
    assert province.codes == ("P1", "P2")
    # exposure share of P1 is 50/400, not the mean of the cells' shares (0.5 and 0)
    assert province.result["FL"][0] == pytest.approx(2.5)
    nation = levels[2].result
    assert nation["FL"][0] == pytest.approx(round(70 / 600 / 0.5 * 10, 2))
    assert nation["VU"][0] == pytest.approx(5.0)


def test_scenario_perturbs_a_province_and_reports_differences_and_class_changes() -> None:
    tree = _tree()
    scenario = Scenario(
        name="flood +6 in P1",
        perturbations=(
            Perturbation("FL", AdjustOp.ADD, 6.0, RegionSelector(within=("P1",)), (0.0, 10.0)),
        ),
    )
    out = run_scenario(_model(), ["c1", "c2", "c3"], INPUTS, scenario, tree=tree)
    assert out.delta("FL").tolist() == [0.0, 6.0, 0.0]  # c1 was 10 already (clipped)
    assert out.delta("R").tolist() == [0.0, 3.0, 0.0]
    changed = {(c.node, c.region): c for c in out.changes}
    assert set(changed) == {("FL", "c2"), ("R", "c2")}
    assert (changed["FL", "c2"].baseline_class, changed["FL", "c2"].scenario_class) == (0, 2)


def test_scenario_fails_assets_and_changes_sector_demand() -> None:
    requirements = {
        "water": (("substation",),),
        "hospital": (("substation", "generator"), ("water",)),
        "school": (("water",),),
    }
    sectors = SectorSystem(("power", "water"), np.array([[0, 0.8], [0.2, 0]]), np.zeros(2))
    out = run_scenario(
        _model(),
        ["c1", "c2", "c3"],
        INPUTS,
        Scenario(
            "substation",
            failed_assets=("substation",),
            demand_changes=(DemandChange("water", 0.6),),
        ),
        requirements=requirements,
        sites={
            "substation": AssetSite("c1"),
            "water": AssetSite("c1"),
            "hospital": AssetSite("c2"),
            "school": AssetSite("c3"),
        },
        sectors=sectors,
    )
    assert out.cascade is not None
    assert out.cascade.failed == {"substation": 0, "water": 1, "hospital": 2, "school": 2}
    assert out.failed_by_region["c1"] == ("substation", "water")
    assert out.changes == ()
    assert out.inoperability["power"][0] == 0.0
    assert out.inoperability["power"][1] == pytest.approx(0.571, abs=5e-4)
    assert out.inoperability["water"][1] == pytest.approx(0.714, abs=5e-4)


def test_scenario_rejects_unknown_targets() -> None:
    bad = Scenario("x", perturbations=(Perturbation("nope", AdjustOp.SET, 1.0),))
    with pytest.raises(KeyError, match="nope"):
        run_scenario(_model(), ["c1", "c2", "c3"], INPUTS, bad)


def test_scenario_through_the_hierarchy_province_and_nation() -> None:
    tree = _tree()
    scenario = Scenario(
        "more exposed in P2, flood +1 in P1",
        perturbations=(
            Perturbation("exposed", AdjustOp.ADD, 80.0, RegionSelector(within=("P2",))),
            Perturbation("FL", AdjustOp.ADD, 1.0, RegionSelector(within=("P1",)), (0.0, 10.0)),
        ),
    )
    levels = run_scenario_hierarchy(_model(), ["c1", "c2", "c3"], INPUTS, scenario, tree)
    assert [lv.level for lv in levels] == ["cell", "province", "nation"]
    cells, provinces, nation = (lv.outcome for lv in levels)
    # cells: c3 exposure 100/200 → FL 10 (was 2); c1 already 10 (clipped), c2 0 → 1
    assert cells.delta("FL").tolist() == [0.0, 1.0, 8.0]
    # provinces: P1 gets +1 on its node; P2's summed exposure 100/200 → 10
    assert provinces.delta("FL").tolist() == [1.0, 8.0]
    # nation: exposure rolled up (150/600 → 5.0, was 70/600 → 2.33); the node change is not
    # applied to the nation (not within P1)
    assert nation.baseline["FL"][0] == pytest.approx(2.33)
    assert nation.scenario["FL"][0] == pytest.approx(5.0)


def test_hierarchy_over_periods_rolls_up_each_period_on_its_own() -> None:
    codes = ["c1", "c2", "c3", "c1", "c2", "c3"]
    periods = ["2021"] * 3 + ["2022"] * 3
    inputs = {k: np.concatenate([v, v * 2]) for k, v in INPUTS.items()}
    levels = evaluate_hierarchy(_model(), codes, inputs, _tree(), periods=periods)
    province = levels[1]
    assert province.codes == ("P1", "P2", "P1", "P2")
    assert province.periods == ("2021", "2021", "2022", "2022")
    assert province.inputs["exposed"].tolist() == [50, 20, 100, 40]  # summed within the year
    nation = levels[2]
    assert nation.codes == ("N", "N")
    assert nation.inputs["pop"].tolist() == [600, 1200]
    assert nation.result.periods == ("2021", "2022")
