"""What a principal may see of an incident in its scope: the links to warnings, the tasks and
the timeline steps outside the scope left out (an incident in scope may link a warning, or be
worked by a task of a unit, that is not)."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import replace

from tocsin.core.access import Placement, Principal, sees, visible
from tocsin.core.audit import AuditRecord
from tocsin.core.incidents.model import Incident, LinkKind
from tocsin.core.incidents.tasks import Task
from tocsin.ports.sessions import ResponseSession


def task_place(task: Task) -> Placement:
    """Where a task sits, for the access policy: its unit's region, the domain it acts in."""
    return Placement(task.region, task.domain)


def hidden_warnings(tx: ResponseSession, principal: Principal, refs: Iterable[str]) -> set[str]:
    """The warnings among `refs` outside the principal's scope (or unknown)."""
    wanted = sorted(set(refs))
    if principal.scope.national or not wanted:
        return set()
    found = tx.warnings.by_ids(wanted)
    return {
        ref
        for ref in wanted
        if ref not in found
        or not sees(principal.scope, Placement(found[ref].region, found[ref].domain))
    }


def narrowed(
    tx: ResponseSession, principal: Principal, incidents: list[Incident]
) -> list[Incident]:
    """The incidents with their links to warnings outside the principal's scope left out (an
    incident in scope may link a warning that is not)."""
    hidden = hidden_warnings(
        tx, principal, (r for x in incidents for r in x.linked(LinkKind.WARNING))
    )
    if not hidden:
        return incidents
    return [
        replace(x, links=frozenset(k for k in x.links if not _hides(k.kind.value, k.ref, hidden)))
        for x in incidents
    ]


def _hides(kind: str, ref: str, hidden: set[str]) -> bool:
    return kind == LinkKind.WARNING.value and ref in hidden


def _narrowed_record(record: AuditRecord, hidden: set[str]) -> AuditRecord:
    """An incident's audit record with the hidden warnings left out of the links it lists."""
    links = record.details.get("links") if record.details else None
    if not hidden or not isinstance(links, list):
        return record
    kept = [k for k in links if not _hides(str(k.get("kind")), str(k.get("ref")), hidden)]
    return replace(record, details={**record.details, "links": kept})


def shown_timeline(
    tx: ResponseSession, principal: Principal, trail: Sequence[AuditRecord], tasks: Sequence[Task]
) -> list[AuditRecord]:
    """An incident's timeline without the steps of tasks outside the principal's scope and
    without the warnings outside it among the links its records list."""
    named = (
        str(k.get("ref"))
        for r in trail
        for k in (r.details or {}).get("links") or []
        if isinstance(k, dict)
    )
    warnings = hidden_warnings(tx, principal, named)
    hidden = {t.id for t in tasks} - {t.id for t in visible(principal, tasks, task_place)}
    return [
        _narrowed_record(r, warnings)
        for r in trail
        if not (r.subject_type == "task" and r.subject_id in hidden)
    ]
