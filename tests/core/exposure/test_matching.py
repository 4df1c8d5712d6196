"""CPE name matching (NISTIR 7696), NVD version ranges and configurations, OSV ranges."""

from __future__ import annotations

import pytest

from tocsin.adapters.versions import UniversOrder
from tocsin.core.errors import InvalidInput
from tocsin.core.exposure.advisories import (
    Advisory,
    AffectedPackage,
    Configuration,
    CpeCriterion,
    CpeNode,
    Feed,
    Operator,
    VersionEvent,
)
from tocsin.core.exposure.matching import attribute_matches, cpe_matches, match, package_matches
from tocsin.core.exposure.software import (
    parse_cpe,
    parse_purl,
    parse_software,
    software_problem,
)

ORDER = UniversOrder()


def cpe(product: str, version: str, *, part: str = "a", update: str = "*") -> str:
    return f"cpe:2.3:{part}:vendor:{product}:{version}:{update}:*:*:*:*:*:*"


def criterion(text: str, **bounds: str) -> CpeCriterion:
    return CpeCriterion(parse_cpe(text), True, **bounds)


@pytest.mark.parametrize(
    ("installed", "bounds", "expected"),
    [
        ("1.10", {"end_excluding": "1.9"}, False),  # numeric, not text: 1.10 > 1.9
        ("1.9", {"end_excluding": "1.10"}, True),
        ("3.10", {"start_including": "3.2", "end_excluding": "3.10"}, False),  # end excluded
        ("3.2", {"start_including": "3.2", "end_excluding": "3.10"}, True),  # start included
        ("3.2", {"start_excluding": "3.2"}, False),
        ("2.1.1k", {"end_including": "2.1.1k"}, True),
        ("2.1.1l", {"end_including": "2.1.1k"}, False),  # OpenSSL-style letter releases
        ("2.1.1", {"end_excluding": "2.1.1a"}, True),
        ("1.0.1", {"end_including": "1.0"}, False),  # a longer version after an equal prefix
        ("10.0.17763.2", {"start_including": "10.0.17763.10"}, False),
        ("*", {"end_excluding": "9"}, False),  # the inventory does not say: not in a range
        ("-", {"end_excluding": "9"}, False),
    ],
)
def test_version_ranges_compare_versions_not_text(
    installed: str, bounds: dict[str, str], expected: bool
) -> None:
    crit = criterion(cpe("hmi", "*"), **bounds)
    assert cpe_matches(crit, parse_cpe(cpe("hmi", installed)), order=ORDER) is expected


@pytest.mark.parametrize(
    ("criterion_value", "installed", "expected"),
    [
        ("*", "anything", True),
        ("*", "-", True),
        ("-", "-", True),
        ("-", "x", False),
        ("x", "*", False),  # a specific criterion against ANY is a subset: no match
        ("x", "-", False),
        ("x", "x", True),
        ("sp*", "sp1", True),  # wildcards in criteria
        ("sp?", "sp12", False),
        ("sp??", "sp12", True),
        ("*bar", "foobar", True),
    ],
)
def test_attribute_relations_follow_nistir_7696(
    criterion_value: str, installed: str, expected: bool
) -> None:
    assert attribute_matches(criterion_value, installed) is expected


def test_names_match_case_insensitively_and_every_attribute_counts() -> None:
    crit = criterion("cpe:2.3:a:Apache:HTTP_Server:2.4.49:*:*:*:*:*:*:*")
    installed = parse_cpe("cpe:2.3:a:apache:http_server:2.4.49:*:*:*:*:*:*:*")
    assert cpe_matches(crit, installed, order=ORDER)
    assert not cpe_matches(crit, parse_cpe(installed_text("2.4.50")), order=ORDER)
    other_update = criterion("cpe:2.3:a:apache:http_server:2.4.49:beta:*:*:*:*:*:*")
    assert not cpe_matches(
        other_update, parse_cpe("cpe:2.3:a:apache:http_server:2.4.49:*:*:*:*:*:*:*"), order=ORDER
    )


def installed_text(version: str) -> str:
    return f"cpe:2.3:a:apache:http_server:{version}:*:*:*:*:*:*:*"


def advisory(*configs: Configuration, packages: tuple[AffectedPackage, ...] = ()) -> Advisory:
    return Advisory("CVE-X", Feed.NVD, configurations=configs, packages=packages)


def test_an_and_configuration_needs_the_platform_and_names_only_the_vulnerable_part() -> None:
    firmware = CpeNode((criterion(cpe("fw", "*", part="o"), end_including="2.0"),))
    platform = CpeNode((CpeCriterion(parse_cpe(cpe("plc", "-", part="h")), vulnerable=False),))
    adv = advisory(Configuration((firmware, platform), Operator.AND))
    on_plc = [parse_software(cpe("fw", "1.5", part="o")), parse_software(cpe("plc", "-", part="h"))]
    alone = on_plc[:1]
    found = match(adv, on_plc, order=ORDER)
    assert found is not None
    assert found.software == (cpe("fw", "1.5", part="o"),)
    assert match(adv, alone, order=ORDER) is None
    assert match(adv, on_plc[1:], order=ORDER) is None  # the platform alone is not vulnerable


def test_a_negated_node_excludes() -> None:
    app = CpeNode((criterion(cpe("app", "*"), end_excluding="5"),))
    not_on = CpeNode(
        (CpeCriterion(parse_cpe(cpe("os", "*", part="o")), vulnerable=False),), negate=True
    )
    adv = advisory(Configuration((app, not_on), Operator.AND))
    assert match(adv, [parse_software(cpe("app", "4"))], order=ORDER) is not None
    both = [parse_software(cpe("app", "4")), parse_software(cpe("os", "1", part="o"))]
    assert match(adv, both, order=ORDER) is None


def osv(
    events: list[tuple[str, str]], *, kind: str = "pypi", name: str = "jinja2"
) -> AffectedPackage:
    return AffectedPackage(kind, "", name, (tuple(VersionEvent(k, v) for k, v in events),))


@pytest.mark.parametrize(
    ("version", "expected"),
    [
        ("2.11.2", True),
        ("2.11.3", False),  # fixed
        ("2.99", False),  # between the fix and the next introduction
        ("3.0.0", True),
        ("3.1.3", True),
        ("3.1.4", False),
        ("3.1.10", False),  # numeric ordering past the fix
        ("3.1.4rc1", True),  # a pre-release of the fix comes before it (PEP 440)
    ],
)
def test_osv_ranges_with_two_intervals(version: str, expected: bool) -> None:
    events = [("introduced", "0"), ("fixed", "2.11.3"), ("introduced", "3.0.0"), ("fixed", "3.1.4")]
    assert (
        package_matches(osv(events), parse_purl(f"pkg:pypi/Jinja2@{version}"), order=ORDER)
        is expected
    )


def test_osv_last_affected_is_inclusive_and_names_compare_per_ecosystem() -> None:
    events = [("introduced", "1.0.0"), ("last_affected", "1.3.0")]
    npm = osv(events, kind="npm", name="left-pad-test")
    assert package_matches(npm, parse_purl("pkg:npm/left-pad-test@1.3.0"), order=ORDER)
    assert not package_matches(npm, parse_purl("pkg:npm/left-pad-test@1.3.1"), order=ORDER)
    assert package_matches(npm, parse_purl("pkg:npm/left-pad-test@1.3.0-rc.1"), order=ORDER)
    assert package_matches(npm, parse_purl("pkg:npm/Left-Pad-Test@1.2.0"), order=ORDER)
    assert not package_matches(npm, parse_purl("pkg:npm/left-pad-test@0.9.9"), order=ORDER)
    assert not package_matches(npm, parse_purl("pkg:pypi/left-pad-test@1.2.0"), order=ORDER)
    assert not package_matches(npm, parse_purl("pkg:npm/left-pad-test"), order=ORDER)  # no version
    py = osv([("introduced", "0"), ("fixed", "1.0")], name="zope.interface")
    assert package_matches(py, parse_purl("pkg:pypi/zope-interface@0.9"), order=ORDER)  # PEP 503


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("cpe:/a:apache:http_server:2.4.49", "starts with 'cpe:2.3:'"),
        ("cpe:2.3:a:apache:http_server:2.4.49", "11 attributes"),
        ("cpe:2.3:x:apache:http_server:2.4.49:*:*:*:*:*:*:*", "part"),
        ("cpe:2.3:a:apache:http server:2.4.49:*:*:*:*:*:*:*", "product"),
        ("cpe:2.3:a:apache::2.4.49:*:*:*:*:*:*:*", "product"),
        ("cpe:2.3:a:apache:http_server:2.4.*:*:*:*:*:*:*:*", "no wildcards"),
        ("pkg:pypi", "pkg:type/namespace/name"),
    ],
)
def test_bad_software_names_are_refused_with_the_reason(text: str, reason: str) -> None:
    problem = software_problem(text)
    assert problem is not None
    assert reason in problem


def test_quoted_punctuation_is_part_of_a_value() -> None:
    name = parse_cpe(r"cpe:2.3:o:cisco:ios:15.2\(4\)m:*:*:*:*:*:*:*")
    assert name.get("version") == r"15.2\(4\)m"
    assert software_problem(r"cpe:2.3:o:cisco:ios:15.2\(4\)m:*:*:*:*:*:*:*") is None
    with pytest.raises(InvalidInput, match="11 attributes"):
        parse_cpe("cpe:2.3:a:b")


def test_a_purl_is_parsed_with_namespace_version_and_percent_decoding() -> None:
    got = parse_purl("pkg:maven/org.example/historian-client@1.9.0?type=jar#sub")
    assert (got.type, got.namespace, got.name, got.version) == (
        "maven",
        "org.example",
        "historian-client",
        "1.9.0",
    )
    assert parse_purl("pkg:npm/%40scope/name@1.0.0").namespace == "@scope"
