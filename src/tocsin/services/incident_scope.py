"""What a principal may see of an incident in its scope: the links to warnings, public alerts
and reports, the tasks and the timeline steps outside the scope left out (an incident in scope
may link a warning, or be worked by a task of a unit, that is not)."""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterable, Sequence
from dataclasses import replace
from typing import Concatenate, ParamSpec, Protocol, TypeVar

from tocsin.core.access import Placement, Principal, sees, visible
from tocsin.core.audit import AuditRecord
from tocsin.core.incidents.model import Incident, LinkKind
from tocsin.core.incidents.tasks import Task
from tocsin.ports.sessions import ResponseSession

LinkRef = tuple[str, str]  # (a link's kind, its ref)
P = ParamSpec("P")


class ShowsIncidents(Protocol):
    """A service that shows an incident as a principal may see it."""

    def shown(self, incident: Incident, *, principal: Principal) -> Incident:
        """The incident with its links outside the principal's scope left out."""


S = TypeVar("S", bound=ShowsIncidents)


def shown_to_principal(
    command: Callable[Concatenate[S, P], Incident],
) -> Callable[Concatenate[S, P], Incident]:
    """A command whose incident is returned as its principal may see it (the links outside the
    principal's scope left out, as a read shows them): a command is no way around a read."""

    @functools.wraps(command)
    def run(service: S, /, *args: P.args, **kwargs: P.kwargs) -> Incident:
        done = command(service, *args, **kwargs)
        principal = kwargs["principal"]
        if not isinstance(principal, Principal):
            raise TypeError("an incident command names its principal by keyword")
        return service.shown(done, principal=principal)

    return run


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
    found = hidden_warnings(
        tx, principal, (r for x in incidents for r in x.linked(LinkKind.WARNING))
    )
    return without_links(incidents, {(LinkKind.WARNING.value, r) for r in found})


def link_refs(incidents: Iterable[Incident]) -> list[LinkRef]:
    """Every link of the incidents as (kind, ref)."""
    return [(k.kind.value, k.ref) for x in incidents for k in x.links]


def without_links(incidents: list[Incident], hidden: set[LinkRef]) -> list[Incident]:
    """The incidents with the `hidden` links left out."""
    if not hidden:
        return incidents
    return [
        replace(x, links=frozenset(k for k in x.links if (k.kind.value, k.ref) not in hidden))
        for x in incidents
    ]


def record_links(trail: Iterable[AuditRecord]) -> list[LinkRef]:
    """The links an incident's audit records list, as (kind, ref)."""
    return [
        (str(k.get("kind")), str(k.get("ref")))
        for r in trail
        for k in (r.details or {}).get("links") or []
        if isinstance(k, dict)
    ]


def trail_without_links(trail: list[AuditRecord], hidden: set[LinkRef]) -> list[AuditRecord]:
    """An incident's audit records with the `hidden` links left out of the links they list."""
    return [_narrowed_record(r, hidden) for r in trail] if hidden else trail


def _narrowed_record(record: AuditRecord, hidden: set[LinkRef]) -> AuditRecord:
    links = record.details.get("links") if record.details else None
    if not isinstance(links, list):
        return record
    kept = [k for k in links if (str(k.get("kind")), str(k.get("ref"))) not in hidden]
    return replace(record, details={**record.details, "links": kept})


def shown_timeline(
    tx: ResponseSession, principal: Principal, trail: Sequence[AuditRecord], tasks: Sequence[Task]
) -> list[AuditRecord]:
    """An incident's timeline without the steps of tasks outside the principal's scope and
    without the warnings outside it among the links its records list."""
    warning = LinkKind.WARNING.value
    named = (r for k, r in record_links(trail) if k == warning)
    links = {(warning, r) for r in hidden_warnings(tx, principal, named)}
    hidden = {t.id for t in tasks} - {t.id for t in visible(principal, tasks, task_place)}
    shown = [r for r in trail if not (r.subject_type == "task" and r.subject_id in hidden)]
    return trail_without_links(shown, links)
