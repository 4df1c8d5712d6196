"""Incident use cases for people: list, look at one with its tasks and timeline, open one by hand,
activate a plan, link things, name the lead unit, stand down, close, merge and split.

Reads need READ and commands COMMAND; both apply the access policy to the incident's region and
domain (`incident_place`), so a unit's duty officer runs the incidents of its regions and
domains only. Each command runs in one transaction (services/response_pass.py): the incident's
transitions, its tasks' and their audit records are written together, then the notices go out.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from tocsin.core.access import Placement, Principal, require, require_found, require_place, visible
from tocsin.core.audit import AuditRecord
from tocsin.core.errors import Conflict, IllegalTransition, InvalidInput, NotFound, Problem
from tocsin.core.incidents.model import (
    Incident,
    IncidentCommand,
    IncidentCommandKind,
    IncidentState,
    Link,
    LinkKind,
    blank_incident,
)
from tocsin.core.incidents.plans import STAND_DOWN, EmergencyPlan, applies
from tocsin.core.incidents.tasks import Task, TaskCommand, TaskCommandKind, TaskState
from tocsin.core.levels import Level
from tocsin.core.regions import RegionCode
from tocsin.core.units import UnitCode
from tocsin.core.users import Permission
from tocsin.ports import IncidentFilter
from tocsin.services.incident_scope import (
    link_refs,
    narrowed,
    record_links,
    shown_timeline,
    shown_to_principal,
    task_place,
    trail_without_links,
    without_links,
)
from tocsin.services.linked_scope import LinkedScope
from tocsin.services.responder import apply_plan, new_incident_id
from tocsin.services.response_pass import ResponsePass, ResponseRuntime


def incident_place(incident: Incident) -> Placement:
    """Where an incident sits, for the access policy."""
    return Placement(incident.region, incident.domain)


@dataclass(frozen=True)
class IncidentService:
    """Reads and runs incidents."""

    runtime: ResponseRuntime
    linked: LinkedScope | None = None  # public alerts and reports linked: which are in scope

    def shown(self, incident: Incident, *, principal: Principal) -> Incident:
        """The incident as the principal may see it: its links outside the scope left out."""
        if principal.scope.national:
            return incident
        with self.runtime.store.transaction() as tx:
            found = narrowed(tx, principal, [incident])
        return self._in_scope(principal, found)[0]

    def _in_scope(self, principal: Principal, incidents: list[Incident]) -> list[Incident]:
        """The incidents without their links to public alerts and reports outside the scope
        (looked up in the foundation store, after the response's transaction)."""
        if self.linked is None:
            return incidents
        return without_links(incidents, self.linked.hidden(principal, link_refs(incidents)))

    # -- reading -------------------------------------------------------------------------------
    def find(
        self,
        *,
        principal: Principal,
        open_only: bool = True,
        states: tuple[str, ...] = (),
        region: str | None = None,
        domain: str | None = None,
        limit: int = 500,
    ) -> list[Incident]:
        """Incidents the principal may see, newest first; `region` selects its subtree."""
        require(principal, Permission.READ)
        tree = self.runtime.context.catalog.regions
        regions = None
        if region is not None:
            if region not in tree:
                raise NotFound(f"unknown region {region!r}")
            regions = tuple(tree.subtree(RegionCode(region)))
        query = IncidentFilter(open_only, states, regions, domain, principal.scope, limit)
        with self.runtime.store.transaction() as tx:
            found = narrowed(tx, principal, tx.incidents.find(query))
        return self._in_scope(principal, found)

    def get(self, incident_id: str, *, principal: Principal) -> Incident:
        """One incident (Forbidden outside the principal's scope)."""
        require(principal, Permission.READ)
        with self.runtime.store.transaction() as tx:
            stored = tx.incidents.get(incident_id)
            found = require_found(
                principal, stored, kind="incident", ident=incident_id, place=incident_place
            )
            shown = narrowed(tx, principal, [found])
        return self._in_scope(principal, shown)[0]

    def resolve(self, prefix: str, *, principal: Principal) -> Incident:
        """The one incident the principal sees whose id starts with `prefix`."""
        require(principal, Permission.READ)
        with self.runtime.store.transaction() as tx:
            found = tx.incidents.with_prefix(prefix, limit=2)
        found = visible(principal, found, incident_place)
        if len(found) != 1:
            raise NotFound(f"{'no' if not found else 'several'} incidents match {prefix!r}")
        return self.shown(found[0], principal=principal)

    def tasks(self, incident_id: str, *, principal: Principal) -> list[Task]:
        """The incident's tasks the principal sees (each sits at its unit's region), in
        creation order."""
        self.get(incident_id, principal=principal)
        with self.runtime.store.transaction() as tx:
            found = tx.tasks.of_incidents([incident_id])[incident_id]
        return visible(principal, found, task_place)

    def timeline(self, incident_id: str, *, principal: Principal) -> list[AuditRecord]:
        """The incident's timeline: its audit trail and its tasks', oldest first (the steps of
        tasks outside the principal's scope left out)."""
        self.get(incident_id, principal=principal)
        with self.runtime.store.transaction() as tx:
            every = tx.tasks.of_incidents([incident_id])[incident_id]
            trail = tx.response_trail.timeline(incident_id)
            shown = shown_timeline(tx, principal, trail, every)
        if self.linked is None:
            return shown
        return trail_without_links(shown, self.linked.hidden(principal, record_links(shown)))

    def linked_to(
        self, kind: LinkKind, ref: str, *, principal: Principal, open_only: bool = False
    ) -> list[Incident]:
        """The incidents that link a warning, event, public alert or report (oldest first):
        how the public-alert side finds the incidents of a warning."""
        require(principal, Permission.READ)
        with self.runtime.store.transaction() as tx:
            found = tx.incidents.linked_to(kind.value, [ref], open_only=open_only)
            shown = narrowed(tx, principal, visible(principal, found.get(ref, []), incident_place))
        return self._in_scope(principal, shown)

    def plans(self, *, principal: Principal) -> list[EmergencyPlan]:
        """The emergency plans whose region and domain the principal's scope holds."""
        require(principal, Permission.READ)
        return visible(
            principal, self.runtime.context.plans.plans, lambda p: Placement(p.region, p.domain)
        )

    # -- commands ------------------------------------------------------------------------------
    def _command(self, principal: Principal, incident: Incident, action: str) -> None:
        require(principal, Permission.COMMAND)
        require_place(principal, incident_place(incident), action=f"{action} {incident.id}")

    @shown_to_principal
    def open(
        self,
        *,
        principal: Principal,
        title: str,
        region: str,
        domain: str,
        reason: str,
        links: Sequence[Link] = (),
        lead: str | None = None,
    ) -> Incident:
        """Open an incident by hand (no plan yet) within the principal's scope."""
        require(principal, Permission.COMMAND)
        self._check_place(region, domain=domain, lead=lead)
        require_place(principal, Placement(region, domain), action="opening an incident")
        template = blank_incident(new_incident_id(), title=title, region=region, domain=domain)
        command = IncidentCommand(
            IncidentCommandKind.OPEN, principal.name, reason, links=tuple(links), lead=lead
        )
        with self.runtime.transaction() as work:
            return work.open(template, command)

    def _check_place(self, region: str, *, domain: str, lead: str | None) -> None:
        catalog = self.runtime.context.catalog
        problems = []
        if region not in catalog.regions:
            problems.append(Problem("body", "region", f"unknown region {region!r}"))
        if domain not in catalog.domains:
            problems.append(Problem("body", "domain", f"unknown domain {domain!r}"))
        if lead is not None and UnitCode(lead) not in catalog.units:
            problems.append(Problem("body", "lead", f"unknown unit {lead!r}"))
        if problems:
            raise InvalidInput(problems)

    @shown_to_principal
    def activate(
        self,
        incident_id: str,
        *,
        principal: Principal,
        plan_id: str,
        level: Level,
        reason: str,
    ) -> Incident:
        """Activate a plan at a level by hand (or raise it to that level): its tasks go out."""
        plan = self.runtime.context.plans.get(plan_id)
        if plan is None:
            raise NotFound(f"no plan {plan_id!r}")
        with self.runtime.transaction() as work:
            incident = work.must_incident(incident_id)
            self._command(principal, incident, "activating a plan on incident")
            self._fits(plan_id, incident)
            reached = incident.plan_level if incident.plan == plan.id else None
            levels = plan.levels_between(reached, level)
            if incident.state is IncidentState.ACTIVE:
                if incident.plan != plan.id:
                    raise Conflict(f"incident {incident.id} runs plan {incident.plan!r}")
                if not levels:
                    raise IllegalTransition(f"the plan is already at {reached} or above {level}")
                return apply_plan(work, incident, plan, levels, actor=principal.name, reason=reason)
            if level.rank < plan.activation_level.rank:
                raise InvalidInput(
                    [Problem("body", "level", f"{plan.id} starts at {plan.activation_level}")]
                )
            return apply_plan(work, incident, plan, levels, actor=principal.name, reason=reason)

    def _fits(self, plan_id: str, incident: Incident) -> None:
        plan = self.runtime.context.plans.get(plan_id)
        catalog = self.runtime.context.catalog
        if plan is not None and not applies(
            plan,
            region=incident.region,
            domain=incident.domain,
            tree=catalog.regions,
            domain_ancestors=self.runtime.context.ancestors(incident.domain),
        ):
            raise Conflict(f"plan {plan_id} does not cover {incident.region} / {incident.domain}")

    @shown_to_principal
    def link(
        self,
        incident_id: str,
        *,
        principal: Principal,
        links: Sequence[Link],
        reason: str,
        unlink: bool = False,
    ) -> Incident:
        """Link (or unlink) warnings, events, public alerts or reports."""
        kind = IncidentCommandKind.UNLINK if unlink else IncidentCommandKind.LINK
        with self.runtime.transaction() as work:
            incident = work.must_incident(incident_id)
            self._command(principal, incident, "linking to incident")
            command = IncidentCommand(kind, principal.name, reason, links=tuple(links))
            return work.change(incident, command)

    @shown_to_principal
    def name_lead(
        self, incident_id: str, *, principal: Principal, unit: str, reason: str
    ) -> Incident:
        """Name the incident's lead unit."""
        if UnitCode(unit) not in self.runtime.context.catalog.units:
            raise InvalidInput([Problem("body", "unit", f"unknown unit {unit!r}")])
        with self.runtime.transaction() as work:
            incident = work.must_incident(incident_id)
            self._command(principal, incident, "naming the lead of incident")
            command = IncidentCommand(IncidentCommandKind.LEAD, principal.name, reason, lead=unit)
            return work.change(incident, command)

    @shown_to_principal
    def stand_down(
        self, incident_id: str, *, principal: Principal, reason: str, cancel_open: bool = False
    ) -> Incident:
        """Confirm the stand-down of an active incident: its stand-down tasks go out (those
        proposed, or the plan's), and with `cancel_open` its unfinished tasks are cancelled;
        it closes by itself once every task is finished."""
        with self.runtime.transaction() as work:
            incident = work.must_incident(incident_id)
            self._command(principal, incident, "standing down incident")
            command = IncidentCommand(IncidentCommandKind.STAND_DOWN, principal.name, reason)
            incident = work.change(incident, command)
            self._stand_down_tasks(work, incident, principal=principal, cancel_open=cancel_open)
            work.release_ready(incident, actor=principal.name)
            return work.close_if_finished(incident)

    def _stand_down_tasks(
        self, work: ResponsePass, incident: Incident, *, principal: Principal, cancel_open: bool
    ) -> None:
        tasks = work.tasks_of(incident.id)
        proposed = [t for t in tasks if t.state is TaskState.PROPOSED]
        for task in proposed:
            confirm = TaskCommand(TaskCommandKind.CONFIRM, principal.name, "stand-down confirmed")
            work.change_task(task, confirm, incident)
        plan = self.runtime.context.plans.get(incident.plan) if incident.plan else None
        if plan is not None and not any(t.stage == STAND_DOWN for t in tasks):
            work.issue(incident, plan, plan.stand_down, stage=STAND_DOWN)
        if cancel_open:
            for task in work.tasks_of(incident.id):
                if task.is_open and task.stage != STAND_DOWN:
                    why = f"cancelled at stand-down: {principal.name}"
                    cancel = TaskCommand(TaskCommandKind.CANCEL, principal.name, why)
                    work.change_task(task, cancel, incident)

    @shown_to_principal
    def close(self, incident_id: str, *, principal: Principal, reason: str) -> Incident:
        """Close an incident whose tasks are all finished (open or stabilised)."""
        with self.runtime.transaction() as work:
            incident = work.must_incident(incident_id)
            self._command(principal, incident, "closing incident")
            command = IncidentCommand(
                IncidentCommandKind.CLOSE,
                principal.name,
                reason,
                open_tasks=work.unfinished(incident.id),
            )
            return work.change(incident, command)

    @shown_to_principal
    def merge(self, source_id: str, *, into: str, principal: Principal, reason: str) -> Incident:
        """Merge one incident into another: its links and unfinished tasks move over, and it
        closes (merged); return the incident merged into."""
        with self.runtime.transaction() as work:
            source, target = work.must_incident(source_id), work.must_incident(into)
            self._command(principal, source, "merging incident")
            self._command(principal, target, "merging into incident")
            actor = principal.name
            absorb = IncidentCommand(
                IncidentCommandKind.ABSORB,
                actor,
                reason,
                links=tuple(source.links),
                other=source.id,
            )
            target = work.change(target, absorb)
            self._move_tasks(work, [t.id for t in work.tasks_of(source.id)], to=target, actor=actor)
            merge = IncidentCommand(IncidentCommandKind.MERGE, actor, reason, other=target.id)
            work.change(source, merge)
            return target

    @shown_to_principal
    def split(
        self,
        incident_id: str,
        *,
        principal: Principal,
        title: str,
        links: Sequence[Link],
        task_ids: Sequence[str],
        reason: str,
    ) -> Incident:
        """Split part of an incident (links and tasks) into a new incident in the same place and
        state; return the new incident."""
        with self.runtime.transaction() as work:
            source = work.must_incident(incident_id)
            self._command(principal, source, "splitting incident")
            mine = {t.id for t in work.tasks_of(source.id)}
            strangers = [t for t in task_ids if t not in mine]
            if strangers:
                raise InvalidInput(
                    [Problem("body", "tasks", f"not tasks of {source.id}: {', '.join(strangers)}")]
                )
            actor = principal.name
            child = self._split_off(
                work, source, title=title, links=links, actor=actor, reason=reason
            )
            self._move_tasks(work, list(task_ids), to=child, actor=actor)
            return child

    @staticmethod
    def _split_off(
        work: ResponsePass,
        source: Incident,
        *,
        title: str,
        links: Sequence[Link],
        actor: str,
        reason: str,
    ) -> Incident:
        """The new incident of a split: opened with the links, in the source's state and plan."""
        template = blank_incident(
            new_incident_id(), title=title, region=source.region, domain=source.domain
        )
        opened = IncidentCommand(
            IncidentCommandKind.OPEN,
            actor,
            reason,
            links=tuple(links),
            lead=source.lead_unit,
            other=source.id,
        )
        child = work.open(template, opened)
        split = IncidentCommand(
            IncidentCommandKind.SPLIT, actor, reason, links=tuple(links), other=child.id
        )
        work.change(source, split)
        if source.state is not IncidentState.ACTIVE:
            return child
        same = IncidentCommand(
            IncidentCommandKind.ACTIVATE,
            actor,
            f"split from {source.id}",
            plan=source.plan,
            level=source.plan_level,
            response=source.response_level,
        )
        return work.change(child, same)

    @staticmethod
    def _move_tasks(work: ResponsePass, ids: Sequence[str], *, to: Incident, actor: str) -> None:
        for ident in ids:
            task = work.task(ident)
            if task is not None and task.is_open:
                move = TaskCommand(
                    TaskCommandKind.MOVE, actor, f"moved to incident {to.id}", incident=to.id
                )
                work.change_task(task, move, to)
