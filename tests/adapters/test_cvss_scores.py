"""CVSS in the feeds: every version scored from its vector (v4.0 through the `cvss` package),
a malformed vector refuses the feed saying where, a disagreeing stated score loses and is logged."""

from __future__ import annotations

import json
import logging
from typing import Any

import pytest

from tocsin.adapters.cvss_scores import vector_problem, vector_score, vector_severity
from tocsin.adapters.vulnerability_feeds import parse_feed
from tocsin.core.errors import InvalidInput
from tocsin.core.exposure.advisories import Feed, Severity

V4_MAX_VULN = "CVSS:4.0/AV:N/AC:L/AT:N/PR:N/UI:N/VC:H/VI:H/VA:H/SC:N/SI:N/SA:N"
V4_ALL = "CVSS:4.0/AV:N/AC:L/AT:N/PR:N/UI:N/VC:H/VI:H/VA:H/SC:H/SI:H/SA:H"
V31_CRIT = "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H"


def _nvd(data: dict[str, Any], key: str = "cvssMetricV31") -> str:
    metric = {"source": "nvd@nist.gov", "type": "Primary", "cvssData": data}
    cve = {"id": "CVE-2099-0009", "metrics": {key: [metric]}, "configurations": []}
    return json.dumps({"format": "NVD_CVE", "version": "2.0", "vulnerabilities": [{"cve": cve}]})


def test_v4_vectors_are_scored_by_the_macrovector_table() -> None:
    """The v4.0 specification's highest vulnerable-system vector scores 9.3, all High 10."""
    assert (vector_score(V4_MAX_VULN), vector_score(V4_ALL)) == (9.3, 10.0)
    assert vector_severity(V4_MAX_VULN, 9.3) is Severity.CRITICAL
    low = "CVSS:4.0/AV:P/AC:H/AT:P/PR:H/UI:A/VC:N/VI:N/VA:L/SC:N/SI:N/SA:N"
    assert 0.0 < vector_score(low) < 4.0
    assert vector_problem("CVSS:4.0/AV:N/AC:L") is not None
    assert vector_problem(V4_MAX_VULN.replace("AT:N", "AT:Q")) is not None


def test_v2_ratings_have_no_critical() -> None:
    assert vector_severity("AV:N/AC:L/Au:N/C:C/I:C/A:C", 10.0) is Severity.HIGH


def test_the_vector_wins_over_a_disagreeing_score_and_it_is_logged(
    caplog: pytest.LogCaptureFixture,
) -> None:
    data = {"version": "3.1", "vectorString": V31_CRIT, "baseScore": 5.0, "baseSeverity": "MEDIUM"}
    with caplog.at_level(logging.WARNING, logger="tocsin.adapters.cvss_scores"):
        [advisory] = parse_feed(Feed.NVD, _nvd(data), where="nvd feed")
    assert (advisory.cvss_score, advisory.severity) == (9.8, Severity.CRITICAL)
    [record] = caplog.records
    assert "CVE-2099-0009: the feed states CVSS 5.0 but its vector" in record.getMessage()
    assert "scores 9.8; using 9.8" in record.getMessage()


def test_an_agreeing_score_is_not_logged(caplog: pytest.LogCaptureFixture) -> None:
    data = {"version": "3.1", "vectorString": V31_CRIT, "baseScore": 9.8}
    with caplog.at_level(logging.WARNING):
        [advisory] = parse_feed(Feed.NVD, _nvd(data), where="nvd feed")
    assert advisory.cvss_score == 9.8
    assert caplog.records == []


def test_a_v4_metric_is_scored_from_its_vector() -> None:
    data = {"version": "4.0", "vectorString": V4_MAX_VULN, "baseScore": 9.3}
    [advisory] = parse_feed(Feed.NVD, _nvd(data, "cvssMetricV40"), where="nvd feed")
    assert (advisory.cvss_score, advisory.severity) == (9.3, Severity.CRITICAL)


PATH = "vulnerabilities[0].cve.metrics.cvssMetricV31[0].cvssData.vectorString"


@pytest.mark.parametrize(
    ("data", "reason"),
    [
        ({"version": "3.1", "vectorString": "CVSS:3.1/AV:N/AC:L", "baseScore": 9.8}, "missing"),
        ({"version": "3.1", "vectorString": V31_CRIT + "/C:L", "baseScore": 9.8}, "given twice"),
        (
            {"version": "3.1", "vectorString": V31_CRIT.replace("3.1", "3.0"), "baseScore": 9.8},
            "a CVSS 3.0 vector where 3.1 is stated",
        ),
    ],
)
def test_a_malformed_vector_refuses_the_feed_saying_where(
    data: dict[str, Any], reason: str
) -> None:
    with pytest.raises(InvalidInput) as refused:
        parse_feed(Feed.NVD, _nvd(data), where="nvd feed")
    [problem] = refused.value.problems
    assert (problem.where, problem.field) == ("nvd feed", PATH)
    assert reason in problem.reason


def test_osv_severity_vectors_are_scored_and_checked() -> None:
    record = {"id": "GHSA-test-0009", "severity": [{"type": "CVSS_V3", "score": V31_CRIT}]}
    [advisory] = parse_feed(Feed.OSV, json.dumps(record), where="osv feed")
    assert (advisory.cvss_score, advisory.severity) == (9.8, Severity.CRITICAL)
    bad = {**record, "severity": [{"type": "CVSS_V4", "score": "CVSS:4.0/AV:N"}]}
    with pytest.raises(InvalidInput) as refused:
        parse_feed(Feed.OSV, json.dumps(bad), where="osv feed")
    [problem] = refused.value.problems
    assert problem.field.endswith("severity[0].score")
    assert "not a CVSS vector" in problem.reason
