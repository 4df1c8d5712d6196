"""Which of an incident's links to public alerts and public reports a principal may see.

An incident in a reader's scope may link things that are not: a public alert of the
neighbouring province, a public report routed to another region's unit. Their ids must not
reach the reader, no more than those of warnings outside its scope (`incident_scope.py`). A
public alert is seen when every one of its regions lies in the scope, in the alert's domain (as
`PublicAlertViews.sees`); a public report when its region does, in its type's domain. A link to
something that does not exist (any more) is left out for a scoped reader too: nothing tells
it apart from one outside the scope. Event links name no stored, placed thing and are kept.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from tocsin.core.access import Placement, Principal, sees
from tocsin.core.cap.lifecycle import PublicAlert
from tocsin.core.incidents.model import LinkKind
from tocsin.core.reports import Report
from tocsin.ports import AlertingStore, Store
from tocsin.services.incident_scope import LinkRef

KINDS = frozenset({LinkKind.PUBLIC_ALERT.value, LinkKind.REPORT.value})


@dataclass(frozen=True)
class LinkedScope:
    """Looks up linked public alerts (in the warning pipeline's store) and reports (in the
    foundation store) and says which lie outside a principal's scope (`report_domains`: each
    report type's domain)."""

    alerting: AlertingStore
    store: Store
    report_domains: Mapping[str, str]

    def hidden(self, principal: Principal, links: Iterable[LinkRef]) -> set[LinkRef]:
        """The links among `links` (of public alerts and reports) the principal may not see."""
        wanted = sorted({(k, r) for k, r in links if k in KINDS})
        if principal.scope.national or not wanted:
            return set()
        with self.alerting.transaction() as pipeline:
            alerts = {
                r: pipeline.public_alerts.get(r)
                for k, r in wanted
                if k == LinkKind.PUBLIC_ALERT.value
            }
        with self.store.transaction() as tx:
            reports = {r: tx.reports.get(r) for k, r in wanted if k == LinkKind.REPORT.value}
        places = {
            **{(LinkKind.PUBLIC_ALERT.value, r): _alert_places(a) for r, a in alerts.items()},
            **{(LinkKind.REPORT.value, r): self._report_places(x) for r, x in reports.items()},
        }
        return {
            link
            for link, where in places.items()
            if not where or not all(sees(principal.scope, p) for p in where)
        }

    def _report_places(self, report: Report | None) -> list[Placement]:
        if report is None:
            return []
        return [Placement(report.region, self.report_domains.get(report.service))]


def _alert_places(alert: PublicAlert | None) -> list[Placement]:
    if alert is None:
        return []
    return [Placement(r, alert.domain) for r in alert.regions] or [Placement(None, alert.domain)]
