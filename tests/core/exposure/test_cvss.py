"""CVSS base scores from vectors (v2.0, v3.0, v3.1): published NVD pairs, every base vector
against an independent implementation (the `cvss` package), and the spec's properties."""

from __future__ import annotations

import itertools

import pytest
from cvss import CVSS2, CVSS3  # type: ignore[import-untyped]
from hypothesis import given
from hypothesis import strategies as st

from tocsin.core.exposure.cvss import (
    V2_VALUES,
    V2_WEIGHTS,
    V3_BASE,
    V3_OTHER,
    V3_VALUES,
    BadVector,
    roundup_v30,
    roundup_v31,
    v2_base_score,
    v3_base_score,
    version_of,
)

# (CVE, vector, base score) as the NVD's pages for these CVEs state them
NVD = [
    ("CVE-2021-44228", "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:C/C:H/I:H/A:H", 10.0),
    ("CVE-2021-44228", "AV:N/AC:M/Au:N/C:C/I:C/A:C", 9.3),
    ("CVE-2014-0160", "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:N/A:N", 7.5),
    ("CVE-2014-0160", "AV:N/AC:L/Au:N/C:P/I:N/A:N", 5.0),
    ("CVE-2017-0144", "CVSS:3.1/AV:N/AC:H/PR:N/UI:N/S:U/C:H/I:H/A:H", 8.1),
    ("CVE-2017-0144", "AV:N/AC:M/Au:N/C:C/I:C/A:C", 9.3),
    ("CVE-2014-6271", "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H", 9.8),
    ("CVE-2014-6271", "AV:N/AC:L/Au:N/C:C/I:C/A:C", 10.0),
    ("CVE-2019-0708", "CVSS:3.0/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H", 9.8),
    ("CVE-2016-5195", "CVSS:3.1/AV:L/AC:L/PR:L/UI:N/S:U/C:H/I:H/A:H", 7.8),
    ("CVE-2016-5195", "AV:L/AC:L/Au:N/C:C/I:C/A:C", 7.2),
    ("CVE-2021-34527", "CVSS:3.1/AV:N/AC:L/PR:L/UI:N/S:U/C:H/I:H/A:H", 8.8),
    ("CVE-2021-34527", "AV:N/AC:L/Au:S/C:C/I:C/A:C", 9.0),
    ("CVE-2019-11510", "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:C/C:H/I:H/A:H", 10.0),
    ("CVE-2021-41773", "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:N/A:N", 7.5),
    ("CVE-2021-41773", "AV:N/AC:L/Au:N/C:P/I:N/A:N", 5.0),
]
# each metric's values from least to most severe (v3.1 section 2, v2 guide section 2.1)
V3_ORDER = {
    "AV": "PLAN",
    "AC": "HL",
    "PR": "HLN",
    "UI": "RN",
    "C": "NLH",
    "I": "NLH",
    "A": "NLH",
}
V2_ORDER = {"AV": ["L", "A", "N"], "AC": ["H", "M", "L"], "Au": ["M", "S", "N"]} | {
    k: ["N", "P", "C"] for k in ("C", "I", "A")
}


def _score(vector: str) -> float:
    return v3_base_score(vector) if vector.startswith("CVSS:") else v2_base_score(vector)


@pytest.mark.parametrize(("cve", "vector", "score"), NVD, ids=[f"{c}-{v[:8]}" for c, v, _ in NVD])
def test_published_nvd_scores(cve: str, vector: str, score: float) -> None:
    assert _score(vector) == score, cve


def _v3_vectors(version: str) -> list[str]:
    names = list(V3_BASE)
    return [
        f"CVSS:{version}/" + "/".join(f"{k}:{v}" for k, v in zip(names, values, strict=True))
        for values in itertools.product(*(V3_VALUES[k] for k in names))
    ]


@pytest.mark.parametrize("version", ["3.0", "3.1"])
def test_every_v3_base_vector_agrees_with_an_independent_implementation(version: str) -> None:
    vectors = _v3_vectors(version)
    assert len(vectors) == 2_592  # 4 * 2 * 3 * 2 * 2 * 3 * 3 * 3
    differ = [v for v in vectors if v3_base_score(v) != float(CVSS3(v).scores()[0])]
    assert differ == []


def test_every_v2_base_vector_agrees_with_an_independent_implementation() -> None:
    names = list(V2_WEIGHTS)
    vectors = [
        "/".join(f"{k}:{v}" for k, v in zip(names, values, strict=True))
        for values in itertools.product(*(V2_VALUES[k] for k in names))
    ]
    assert len(vectors) == 729
    assert [v for v in vectors if v2_base_score(v) != float(CVSS2(v).scores()[0])] == []


def test_v31_roundup_differs_from_v30_where_floating_point_bites() -> None:
    """Appendix A's example: 4.000000000000001 is 4.0 in v3.1, 4.1 by v3.0's plain ceiling."""
    assert (roundup_v31(4.000000000000001), roundup_v30(4.000000000000001)) == (4.0, 4.1)
    assert roundup_v31(4.02) == roundup_v30(4.02) == 4.1


@st.composite
def v3_vectors(draw: st.DrawFn) -> tuple[str, dict[str, str]]:
    base = {k: draw(st.sampled_from(V3_VALUES[k])) for k in V3_BASE}
    extra = draw(st.dictionaries(st.sampled_from(sorted(V3_OTHER)), st.just("X"), max_size=4))
    extra = {k: draw(st.sampled_from(V3_OTHER[k])) for k in extra}
    parts = [f"{k}:{v}" for k, v in {**base, **extra}.items()]
    order = draw(st.permutations(parts))
    return f"CVSS:{draw(st.sampled_from(['3.0', '3.1']))}/" + "/".join(order), base


@given(v3_vectors(), st.sampled_from(sorted(V3_ORDER)))
def test_v3_score_is_in_range_and_monotone_in_each_metric(
    drawn: tuple[str, dict[str, str]], metric: str
) -> None:
    vector, base = drawn
    score = v3_base_score(vector)
    assert 0.0 <= score <= 10.0
    order = V3_ORDER[metric]
    here = order.index(base[metric])
    if here + 1 < len(order):  # one step more severe, the scope kept: never a lower score
        worse = vector.replace(f"/{metric}:{base[metric]}", f"/{metric}:{order[here + 1]}", 1)
        assert v3_base_score(worse) >= score, (vector, worse)


@given(
    st.fixed_dictionaries({k: st.sampled_from(v) for k, v in V2_ORDER.items()}),
    st.sampled_from(sorted(V2_ORDER)),
)
def test_v2_score_is_in_range_and_monotone_in_each_metric(
    base: dict[str, str], metric: str
) -> None:
    vector = "/".join(f"{k}:{v}" for k, v in base.items())
    score = v2_base_score(vector)
    assert 0.0 <= score <= 10.0
    order = V2_ORDER[metric]
    here = order.index(base[metric])
    if here + 1 < len(order):
        worse = v2_base_score(
            vector.replace(f"{metric}:{base[metric]}", f"{metric}:{order[here + 1]}", 1)
        )
        assert worse >= score


@pytest.mark.parametrize(
    ("vector", "reason"),
    [
        ("CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H", "base metric(s) A missing"),
        ("CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H/A:L", "metric A is given twice"),
        ("CVSS:3.1/AV:X/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H", "AV:X is not a defined value"),
        ("CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H/Au:N", "'Au:N' is not a metric"),
        ("CVSS:3.2/AV:N", "unknown version 'CVSS:3.2'"),
        ("CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H/", "'' is not a metric"),
        ("AV:N/AC:L/Au:N/C:P/I:P", "base metric(s) A missing"),
        ("AV:N/AC:L/Au:N/C:P/I:P/A:H", "A:H is not a defined value (N, P, C)"),
    ],
)
def test_a_malformed_vector_is_refused_saying_why(vector: str, reason: str) -> None:
    with pytest.raises(BadVector) as refused:
        _score(vector)
    assert reason in str(refused.value)


def test_versions_are_read_from_the_prefix() -> None:
    assert [version_of(v) for v in ("CVSS:4.0/AV:N", "CVSS:3.0/x", "AV:N")] == ["4.0", "3.0", "2.0"]
