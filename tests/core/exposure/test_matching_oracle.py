"""The matcher against an independent oracle: plain tuple comparison for numeric CPE versions,
`packaging` (PEP 440) for PyPI ranges in OSV, over random versions and bounds (Hypothesis)."""

from __future__ import annotations

from hypothesis import assume, given, settings
from hypothesis import strategies as st
from packaging.version import Version

from tocsin.adapters.versions import UniversOrder
from tocsin.core.exposure.advisories import AffectedPackage, CpeCriterion, VersionEvent
from tocsin.core.exposure.matching import cpe_matches, package_matches
from tocsin.core.exposure.software import parse_cpe, parse_purl

ORDER = UniversOrder()
versions = st.lists(st.integers(0, 30), min_size=1, max_size=4).map(tuple)
maybe = st.one_of(st.none(), versions)


def text(v: tuple[int, ...]) -> str:
    return ".".join(str(p) for p in v)


def oracle_in(
    v: tuple[int, ...],
    *,
    si: tuple[int, ...] | None,
    se: tuple[int, ...] | None,
    ei: tuple[int, ...] | None,
    ee: tuple[int, ...] | None,
) -> bool:
    """Numeric segments compared as Python tuples: a longer version after an equal prefix is
    later, as in rpmvercmp, which is what the matcher documents for CPE versions."""
    return (
        (si is None or v >= si)
        and (se is None or v > se)
        and (ei is None or v <= ei)
        and (ee is None or v < ee)
    )


@settings(max_examples=400, deadline=None)
@given(v=versions, si=maybe, se=maybe, ei=maybe, ee=maybe)
def test_cpe_ranges_agree_with_tuple_comparison(
    v: tuple[int, ...],
    si: tuple[int, ...] | None,
    se: tuple[int, ...] | None,
    ei: tuple[int, ...] | None,
    ee: tuple[int, ...] | None,
) -> None:
    def bound(b: tuple[int, ...] | None) -> str | None:
        return None if b is None else text(b)

    criterion = CpeCriterion(
        parse_cpe("cpe:2.3:a:vendor:product:*:*:*:*:*:*:*:*"),
        True,
        bound(si),
        bound(se),
        bound(ei),
        bound(ee),
    )
    installed = parse_cpe(f"cpe:2.3:a:vendor:product:{text(v)}:*:*:*:*:*:*:*")
    got = cpe_matches(criterion, installed, order=ORDER)
    assert got == oracle_in(v, si=si, se=se, ei=ei, ee=ee)


pep440 = st.builds(
    lambda release, pre: text(release) + pre,
    st.lists(st.integers(0, 12), min_size=1, max_size=3).map(tuple),
    st.sampled_from(["", "", "", "a1", "b2", "rc1", ".post1", ".dev3"]),
)


@settings(max_examples=300, deadline=None)
@given(
    installed=pep440,
    events=st.lists(st.tuples(st.sampled_from(["introduced", "fixed"]), pep440), max_size=4),
)
def test_osv_pypi_ranges_agree_with_packaging(
    installed: str, events: list[tuple[str, str]]
) -> None:
    # an OSV range is a sequence of introduced/fixed events; sorted by version, a version is
    # affected when the last event at or below it is an `introduced`
    # (two events at one version say nothing a feed would: left out)
    assume(len({Version(v) for _, v in events}) == len(events))
    # OSV: `introduced: "0"` means from the very first version (pre-releases of 0 too)
    unique = sorted(events, key=lambda e: (e != ("introduced", "0"), Version(e[1])))
    affected = AffectedPackage("pypi", "", "pkg", (tuple(VersionEvent(k, v) for k, v in unique),))
    last = None
    for kind, version in unique:
        if (kind, version) == ("introduced", "0") or Version(version) <= Version(installed):
            last = kind
    expected = last == "introduced"
    got = package_matches(affected, parse_purl(f"pkg:pypi/pkg@{installed}"), order=ORDER)
    assert got == expected, (installed, unique)
