"""One transaction of the response: incidents and tasks changed through their lifecycles, with
their audit records and the notices units get, all written together at the end.

The response's sessions are the warning pipeline's kind (reads as they go, writes together at
the end), so a pass keeps what it read and changed (`incident`, `tasks_of` see this pass's
versions first) and `finish` writes it all: new and changed incidents and tasks, the audit
records in the order the transitions happened, and the notices for the outbox. The automatic
responder (responder.py) and people's commands (incidents.py, tasks.py) share it, so an
emergency plan is applied the same way whoever starts it.
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Callable, Iterator, Sequence
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass
from datetime import datetime
from typing import Generic, Protocol, TypeVar

from tocsin.core.audit import AuditRecord
from tocsin.core.catalog import Catalog
from tocsin.core.domains import DomainCode
from tocsin.core.errors import NotFound
from tocsin.core.incidents import lifecycle
from tocsin.core.incidents import tasks as task_lifecycle
from tocsin.core.incidents.model import (
    Incident,
    IncidentCommand,
    IncidentCommandKind,
    IncidentState,
    LinkKind,
)
from tocsin.core.incidents.plans import (
    EmergencyPlan,
    PlanBook,
    Resolved,
    TaskTemplate,
    UnitRef,
    parent_chain,
    plan_for,
    resolve_unit,
)
from tocsin.core.incidents.reminders import TaskNotice, notice, steps_for
from tocsin.core.incidents.tasks import Task, TaskCommand, TaskCommandKind, TaskId, TaskState
from tocsin.core.incidents.trail import incident_record, task_record
from tocsin.core.regions import RegionCode
from tocsin.core.units import UnitCode, responsible_chain
from tocsin.core.warnings.model import Warning
from tocsin.core.warnings.outbox import Message, Notification, addresses_of
from tocsin.core.warnings.payloads import compose
from tocsin.ports import Clock, ResponseSession, ResponseStore
from tocsin.services.delivery import Handoff

log = logging.getLogger(__name__)
SYSTEM = "system:response"
FINISHED = frozenset({TaskState.DONE, TaskState.CANCELLED})


def task_id(incident_id: str, *, stage: str, template: str) -> TaskId:
    """A plan task's id, derived from what it is: issuing it again finds it already there."""
    raw = "\x1f".join((incident_id, stage, template)).encode()
    return TaskId(hashlib.sha256(raw).hexdigest()[:24])


@dataclass(frozen=True)
class ResponseContext:
    """What every pass needs: the catalogue (regions, domains, units) and the plans."""

    catalog: Catalog
    plans: PlanBook

    def ancestors(self, domain: str) -> tuple[DomainCode, ...]:
        """The domain's parents."""
        return self.catalog.domain_ancestors(DomainCode(domain))

    def plan_for(self, warning: Warning) -> EmergencyPlan | None:
        """The first plan that applies to the warning's region and domain."""
        return plan_for(
            self.plans,
            region=warning.region,
            domain=warning.domain,
            tree=self.catalog.regions,
            domain_ancestors=self.ancestors(warning.domain),
        )

    def resolve(self, ref: UnitRef, *, region: str, domain: str) -> Resolved | None:
        """The unit a reference names for a region and domain."""
        return resolve_unit(
            ref,
            region=region,
            domain=domain,
            units=self.catalog.units,
            tree=self.catalog.regions,
            domain_ancestors=self.ancestors(domain),
        )

    def responsible(self, region: str, domain: str) -> str | None:
        """The unit responsible for a region and domain (None: nobody)."""
        if region not in self.catalog.regions:
            return None
        chain = responsible_chain(
            self.catalog.units,
            self.catalog.regions,
            region=RegionCode(region),
            domain=DomainCode(domain),
            domain_ancestors=self.ancestors(domain),
        )
        return str(chain[0].code) if chain else None

    def chain(self, unit: str, domain: str) -> list[str]:
        """The unit, then the units above its region for the domain (reminders, escalations)."""
        found = self.catalog.units.get(UnitCode(unit))
        if found is None:
            return [unit]
        return parent_chain(
            found,
            domain=domain,
            units=self.catalog.units,
            tree=self.catalog.regions,
            domain_ancestors=self.ancestors(domain),
        )

    def unit_region(self, unit: str) -> str | None:
        """The region of a unit (None: unknown unit)."""
        found = self.catalog.units.get(UnitCode(unit))
        return str(found.region) if found is not None else None


class Identified(Protocol):
    """A stored record: it has an id."""

    @property
    def id(self) -> str:
        """The record's id."""


R = TypeVar("R", bound=Identified)


class PassRecords(Generic[R]):
    """The records of one kind (incidents, tasks) a pass reads and changes: its own versions
    first, else the stored ones (kept for the rest of the pass), and which of them it created
    or changed, to save at its end."""

    def __init__(self, load: Callable[[str], R | None]) -> None:
        self.load = load
        self.seen: dict[str, R] = {}
        self.new: set[str] = set()
        self.changed: set[str] = set()

    def get(self, ident: str) -> R | None:
        """The record as this pass sees it (None: there is none)."""
        if ident not in self.seen:
            found = self.load(ident)
            if found is None:
                return None
            self.seen[ident] = found
        return self.seen[ident]

    def created(self, record: R) -> None:
        """Keep a record this pass created."""
        self.seen[record.id] = record
        self.new.add(record.id)

    def updated(self, record: R) -> None:
        """Keep the new version of a record this pass changed."""
        self.seen[record.id] = record
        if record.id not in self.new:
            self.changed.add(record.id)

    def to_save(self, *, new: bool) -> list[R]:
        """The records this pass created (or, `new` False, changed), by id."""
        return [self.seen[i] for i in sorted(self.new if new else self.changed)]


class ResponsePass:
    """The incidents and tasks one transaction reads and changes, and what it will write."""

    def __init__(self, tx: ResponseSession, now: datetime, context: ResponseContext) -> None:
        self.tx = tx
        self.now = now
        self.ctx = context
        self._incidents: PassRecords[Incident] = PassRecords(tx.incidents.get)
        self._tasks: PassRecords[Task] = PassRecords(tx.tasks.get)
        self.records: list[AuditRecord] = []
        self.messages: list[Message] = []
        # warning id -> the incidents linking it when the pass began, for the warnings
        # looked up together (`prefetch_links`); others are looked up one at a time
        self._links: dict[str, list[str]] = {}

    # -- reading (this pass's versions first) --------------------------------------------------
    def incident(self, incident_id: str) -> Incident | None:
        """An incident as this pass sees it."""
        return self._incidents.get(incident_id)

    def must_incident(self, incident_id: str) -> Incident:
        """An incident, or NotFound."""
        found = self.incident(incident_id)
        if found is None:
            raise NotFound(f"no incident {incident_id!r}")
        return found

    def task(self, ident: str) -> Task | None:
        """A task as this pass sees it."""
        return self._tasks.get(ident)

    def tasks_of(self, incident_id: str) -> list[Task]:
        """The incident's tasks as this pass sees them, in creation order."""
        for stored in self.tx.tasks.of_incidents([incident_id])[incident_id]:
            self._tasks.seen.setdefault(stored.id, stored)
        found = [t for t in self._tasks.seen.values() if t.incident_id == incident_id]
        return sorted(found, key=lambda t: (t.created_at, t.id))

    def prefetch_links(self, warning_ids: Sequence[str]) -> None:
        """Look up the open incidents linking these warnings in one query (a storm's batch
        of transitions would otherwise cost a query each)."""
        linked = self.tx.incidents.linked_to(LinkKind.WARNING.value, warning_ids, open_only=True)
        for ident in warning_ids:
            found = linked.get(ident, [])
            self._links[ident] = [incident.id for incident in found]
            for incident in found:
                self._incidents.seen.setdefault(incident.id, incident)

    def open_incident_for(self, warning: Warning, key: str | None) -> Incident | None:
        """The open incident a warning belongs to: one linking it, else the one of `key`."""
        for cached in self._incidents.seen.values():
            if cached.is_open and any(
                link.kind is LinkKind.WARNING and link.ref == warning.id for link in cached.links
            ):
                return cached
        if warning.id not in self._links:
            self.prefetch_links([warning.id])
        for ident in self._links[warning.id]:
            current = self.incident(ident)
            if current is not None and current.is_open:
                return current
        if key is None:
            return None
        cached_key = [x for x in self._incidents.seen.values() if x.key == key and x.is_open]
        if cached_key:
            return cached_key[0]
        stored = self.tx.incidents.open_by_keys([key]).get(key)
        return self.incident(stored.id) if stored is not None else None

    # -- incident transitions ------------------------------------------------------------------
    def open(self, template: Incident, command: IncidentCommand) -> Incident:
        """Create an incident (OPEN) and record it."""
        incident, event = lifecycle.open_incident(template, command, self.now)
        self._incidents.created(incident)
        self.records.append(incident_record(event))
        return incident

    def change(self, incident: Incident, command: IncidentCommand) -> Incident:
        """Apply a command to an incident and record it."""
        new, event = lifecycle.apply(incident, command, self.now)
        self._incidents.updated(new)
        self.records.append(incident_record(event))
        return new

    # -- task transitions ----------------------------------------------------------------------
    def create_task(self, template: Task, command: TaskCommand, incident: Incident) -> Task:
        """Create a task and record it (a task reaching its unit is notified)."""
        task, event = task_lifecycle.create(template, command, self.now)
        self._tasks.created(task)
        self.records.append(task_record(event))
        self._notice_if_assigned(task, incident, command.reason)
        return task

    def change_task(self, task: Task, command: TaskCommand, incident: Incident) -> Task:
        """Apply a command to a task and record it (a task reaching its unit is notified)."""
        new, event = task_lifecycle.apply(task, command, self.now)
        self._tasks.updated(new)
        self.records.append(task_record(event))
        if new.state is TaskState.ASSIGNED and (
            task.state is not TaskState.ASSIGNED or new.unit != task.unit
        ):
            self._notice_if_assigned(new, incident, command.reason)
        return new

    def _notice_if_assigned(self, task: Task, incident: Incident, reason: str) -> None:
        if task.state is TaskState.ASSIGNED:
            self.messages.append(
                notice(task, incident, what=TaskNotice.ASSIGNED, to=task.unit, reason=reason)
            )

    # -- plans ---------------------------------------------------------------------------------
    def issue(
        self,
        incident: Incident,
        plan: EmergencyPlan,
        templates: Sequence[TaskTemplate],
        *,
        stage: str,
        propose: bool = False,
    ) -> list[Task]:
        """Create the tasks of a plan stage not yet created (proposed, or waiting for their
        dependencies, or assigned at once), each to the unit its template names."""
        made: list[Task] = []
        for template in templates:
            ident = task_id(incident.id, stage=stage, template=template.id)
            if self.task(ident) is not None:
                continue  # issued before: activation is idempotent
            task = self._new_task(incident, plan, template, ident=ident, stage=stage)
            if task is None:
                continue
            kind = TaskCommandKind.PROPOSE if propose else TaskCommandKind.QUEUE
            if not propose and not task.depends_on:
                kind = TaskCommandKind.ASSIGN
            why = f"{plan.name} ({stage}): {task.assignment}"
            made.append(
                self.create_task(
                    task, TaskCommand(kind, SYSTEM, why, steps=task.reminders.steps), incident
                )
            )
        return made

    def _new_task(
        self,
        incident: Incident,
        plan: EmergencyPlan,
        template: TaskTemplate,
        *,
        ident: TaskId,
        stage: str,
    ) -> Task | None:
        domain = template.domain or template.unit.domain or incident.domain
        resolved = self.ctx.resolve(template.unit, region=incident.region, domain=domain)
        if resolved is None:
            log.warning(
                "no unit for a plan task",
                extra={"incident": incident.id, "plan": plan.id, "task": template.id},
            )
            return None
        unit = resolved.unit
        if unit.domains and not unit.covers(DomainCode(domain), self.ctx.ancestors(domain)):
            domain = unit.domains[0]  # the task sits where its unit works (its scope)
        steps = steps_for(plan.overdue, self.ctx.chain(unit.code, domain))
        return Task(
            id=ident,
            incident_id=incident.id,
            title=template.title,
            unit=unit.code,
            region=unit.region,
            domain=domain,
            state=TaskState.WAITING,
            created_at=self.now,
            updated_at=self.now,
            stage=stage,
            template=template.id,
            assignment=resolved.why,
            accept_within=template.accept_within,
            complete_within=template.complete_within,
            checklist=template.checklist,
            depends_on=tuple(task_id(incident.id, stage=stage, template=a) for a in template.after),
            reminders=task_lifecycle.Reminders(steps),
        )

    def release_ready(self, incident: Incident, *, actor: str = SYSTEM) -> list[Task]:
        """Assign the waiting tasks whose dependencies are all finished."""
        tasks = {t.id: t for t in self.tasks_of(incident.id)}
        released = []
        for task in tasks.values():
            if task.state is not TaskState.WAITING:
                continue
            if all(tasks[d].state in FINISHED for d in task.depends_on if d in tasks):
                why = "the tasks it waited for are finished" if task.depends_on else "released"
                released.append(
                    self.change_task(
                        task, TaskCommand(TaskCommandKind.RELEASE, actor, why), incident
                    )
                )
        return released

    def unfinished(self, incident_id: str) -> int:
        """How many of the incident's tasks are not finished."""
        return sum(1 for t in self.tasks_of(incident_id) if t.is_open)

    def close_if_finished(self, incident: Incident, *, actor: str = SYSTEM) -> Incident:
        """Close a stabilised incident once every one of its tasks is finished."""
        if incident.state is not IncidentState.STABILISED or self.unfinished(incident.id):
            return incident
        why = "stood down and every task is finished"
        return self.change(incident, IncidentCommand(IncidentCommandKind.CLOSE, actor, why))

    # -- writing -------------------------------------------------------------------------------
    def notifications(self) -> list[Notification]:
        """This pass's notices, one notification per address of each receiving unit."""
        out: list[Notification] = []
        for message in self.messages:
            addresses = addresses_of(message.receiver, named={}, units=self.ctx.catalog.units)
            if not addresses:  # the task is on its board; nothing to send it to
                log.info("unit has no address", extra={"receiver": message.receiver})
            out += compose(message, addresses, now=self.now)
        return out

    def finish(self) -> int:
        """Write everything this pass changed; return the number of notifications."""
        tx = self.tx
        tx.incidents.save(self._incidents.to_save(new=True), new=True)
        tx.incidents.save(self._incidents.to_save(new=False), new=False)
        tx.tasks.save(self._tasks.to_save(new=True), new=True)
        tx.tasks.save(self._tasks.to_save(new=False), new=False)
        tx.audit.append(self.records)
        notes = self.notifications()
        tx.outbox.add(notes)
        return len(notes)


@contextmanager
def response_pass(
    store: ResponseStore, now: datetime, *, context: ResponseContext, handoff: Handoff
) -> Iterator[ResponsePass]:
    """One transaction of the response: yield a pass, write what it changed, and wake the
    delivery worker after the commit when it wrote notices."""
    with store.transaction() as tx:
        work = ResponsePass(tx, now, context)
        yield work
        written = work.finish()
    if written:
        handoff.wake()


@dataclass(frozen=True)
class ResponseRuntime:
    """What the response's services share: its store, the clock, the plans and catalogue, and
    the hand-off to wake the delivery worker."""

    store: ResponseStore
    clock: Clock
    context: ResponseContext
    handoff: Handoff

    def transaction(self) -> AbstractContextManager[ResponsePass]:
        """One pass of the response at the clock's now."""
        return response_pass(
            self.store, self.clock.now(), context=self.context, handoff=self.handoff
        )
