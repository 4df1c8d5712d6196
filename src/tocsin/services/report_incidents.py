"""Public reports and incidents: a report, or a whole cluster of them, attached to an open
incident, and the incident's links to those reports (LinkKind.REPORT) so that its trail shows
the citizens' reports beside its warnings.

The report side (status `linked`, the public update the reporter reads, the audit record) is
written by the report service in its own transaction; this module is the incident side, done
through the response's incident service as the process itself.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from tocsin.core.access import Principal, system_principal
from tocsin.core.errors import Conflict, Forbidden, NotFound
from tocsin.core.incidents.model import Incident, Link, LinkKind
from tocsin.services.incidents import IncidentService

SYSTEM = system_principal("system:reports")
OPEN_MAX = 5_000  # open incidents read to choose one for a cluster (far more than any day has)


class ReportIncidents:
    """Checks that an incident is open, and links reports to it."""

    def __init__(self, incidents: IncidentService) -> None:
        self.incidents = incidents

    def require_open(self, incident_id: str, *, by: Principal) -> None:
        """NotFound when there is no such incident, Forbidden when `by` may not see it,
        Conflict when it is closed."""
        found = self.incidents.get(incident_id, principal=by)
        if not found.is_open:
            raise Conflict(f"incident {incident_id} is {found.state.value}: reports join open ones")

    def hidden(self, incident_ids: Iterable[str], *, by: Principal) -> set[str]:
        """The incidents among `incident_ids` that `by` may not see (or that are gone): a
        report routed to one unit may join a cluster attached to another region's incident."""
        if by.scope.national:
            return set()
        out = set()
        for incident_id in sorted(set(incident_ids)):
            try:
                self.incidents.get(incident_id, principal=by)
            except (Forbidden, NotFound):
                out.add(incident_id)
        return out

    def link(self, incident_id: str, report_ids: Sequence[str], *, reason: str) -> None:
        """Link the reports to the incident (those it links already are left as they are)."""
        have = set(self.incidents.get(incident_id, principal=SYSTEM).linked(LinkKind.REPORT))
        links = [Link(LinkKind.REPORT, r) for r in report_ids if r not in have]
        if links:
            self.incidents.link(incident_id, principal=SYSTEM, links=links, reason=reason)

    def open_ones(self) -> list[Incident]:
        """Every open incident (for a cluster rule that attaches by itself)."""
        return self.incidents.find(principal=SYSTEM, open_only=True, limit=OPEN_MAX)
