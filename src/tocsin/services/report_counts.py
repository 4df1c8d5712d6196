"""Report counts as indicators: every stored report updates the count of reports of its service
in its region over the last hour, as an observation of the indicator `{region}.reports.{service}`
when the catalogue declares one — thresholds and detectors then watch it like any other series.
The observations go through the group commit, off the report's own transaction."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import timedelta

import numpy as np

from tocsin.core.observations import ObservationBatch
from tocsin.core.reports import Report
from tocsin.services.ingest import ObservationCommitter

COUNT_WINDOW = timedelta(hours=1)


def count_indicator(region: str, service: str) -> str:
    """The code of the indicator that counts a service's reports in a region."""
    return f"{region}.reports.{service}"


class ReportCounts:
    """Feeds report counts to the indicators the catalogue declares for them."""

    def __init__(self, committer: ObservationCommitter, ids: Mapping[str, int]) -> None:
        self.committer = committer
        self.ids = {code: i for code, i in ids.items() if ".reports." in code}

    def watched(self, report: Report) -> bool:
        """Whether an indicator counts this report's service in its region."""
        return count_indicator(report.region, report.service) in self.ids

    def observe(self, report: Report, count: int) -> None:
        """Queue the count at the report's moment (the group commit stores and evaluates it)."""
        series = self.ids[count_indicator(report.region, report.service)]
        at = int(report.requested_at.timestamp())
        self.committer.submit(
            ObservationBatch(
                np.array([series], dtype=np.int64),
                np.array([at], dtype=np.int64),
                np.array([float(count)], dtype=np.float64),
            )
        )
