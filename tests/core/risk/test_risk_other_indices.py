"""Other published indices written in the same model language (small hand-checked examples)."""

from __future__ import annotations

import numpy as np
import pytest

from tocsin.adapters.risk_model_yaml import parse_model
from tocsin.core.risk.evaluate import evaluate

WORLD_RISK_INDEX = """
id: wri
root: WRI
inputs: [exposed_share, susceptibility, coping, adaptation]
nodes:
  - {id: E, expr: "{exposed_share}"}
  - {id: V, aggregate: {method: mean, children: [susceptibility, coping, adaptation]}}
  - {id: WRI, aggregate: {method: product, children: [E, V]}, round: 4}
"""

ND_GAIN = """
id: ndgain
root: NDGAIN
inputs: [yield_change, gdp_per_capita]
nodes:
  - {id: VUL, expr: "{yield_change}", normalise: {lower: -0.5, upper: 0.5, range: [0, 1]}}
  - {id: READY, expr: "{gdp_per_capita}",
     normalise: {scale: log10, lower: 2, upper: 5, range: [0, 1]}}
  - {id: NDGAIN, expr: "({READY} - {VUL} + 1) * 50", round: 1}
"""

SVI = """
id: svi
root: RPL
inputs: [pov, unemp, age65]
nodes:
  - {id: EPL_POV, expr: "{pov}", normalise: {method: percentile_rank, range: [0, 1]}, round: 4}
  - {id: EPL_UNEMP, expr: "{unemp}", normalise: {method: percentile_rank, range: [0, 1]}, round: 4}
  - {id: EPL_AGE65, expr: "{age65}", normalise: {method: percentile_rank, range: [0, 1]}, round: 4}
  - {id: SPL_THEME1, aggregate: {method: sum, children: [EPL_POV, EPL_UNEMP]}}
  - {id: RPL_THEME1, aggregate: {method: sum, children: [EPL_POV, EPL_UNEMP]},
     normalise: {method: percentile_rank, range: [0, 1]}, round: 4}
  - {id: F_POV, expr: "where({EPL_POV} >= 0.9, 1, 0)"}
  - {id: SPL, aggregate: {method: sum, children: [SPL_THEME1, EPL_AGE65]}}
  - {id: RPL, expr: "{SPL}", normalise: {method: percentile_rank, range: [0, 1]}, round: 4}
"""


def test_world_risk_index_is_exposure_times_vulnerability() -> None:
    m = parse_model(WORLD_RISK_INDEX)
    r = evaluate(
        m,
        {
            "exposed_share": np.array([0.2, 0.5]),
            "susceptibility": np.array([0.3, 0.6]),
            "coping": np.array([0.6, 0.8]),
            "adaptation": np.array([0.3, 0.4]),
        },
    )
    assert r["WRI"].tolist() == [0.08, 0.3]


def test_nd_gain_score_from_readiness_and_vulnerability() -> None:
    m = parse_model(ND_GAIN)
    r = evaluate(m, {"yield_change": np.array([0.0, 0.25]), "gdp_per_capita": np.array([1e4, 1e3])})
    # ready = (4 - 2)/3 = 0.667, vul = 0.5 → (0.667 - 0.5 + 1)·50 = 58.3
    # ready = (3 - 2)/3 = 0.333, vul = 0.75 → (0.333 - 0.75 + 1)·50 = 29.2
    assert r["NDGAIN"].tolist() == [58.3, 29.2]


def test_social_vulnerability_index_percentile_ranks_and_flags() -> None:
    m = parse_model(SVI)
    pov = np.array([10.0, 30.0, 20.0, 40.0, 50.0])
    unemp = np.array([5.0, 4.0, 3.0, 2.0, 1.0])
    age = np.array([1.0, 1.0, 1.0, 1.0, 2.0])
    r = evaluate(m, {"pov": pov, "unemp": unemp, "age65": age})
    assert r["EPL_POV"].tolist() == [0.0, 0.5, 0.25, 0.75, 1.0]
    assert r["EPL_UNEMP"].tolist() == [1.0, 0.75, 0.5, 0.25, 0.0]
    assert r["SPL_THEME1"].tolist() == [1.0, 1.25, 0.75, 1.0, 1.0]
    assert r["RPL_THEME1"].tolist() == [0.25, 1.0, 0.0, 0.25, 0.25]  # ties share the rank
    assert r["F_POV"].tolist() == [0, 0, 0, 0, 1]
    assert r["RPL"][4] == pytest.approx(1.0)
