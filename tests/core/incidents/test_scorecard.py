"""The scorecard from audit records: warnings received and acknowledged with their times, tasks
on time, late and overdue, reminders and escalations suffered; CSV export; the quantiles."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime, timedelta

from tests.factories import T0, make_task
from tocsin.core.audit import AuditRecord
from tocsin.core.incidents import tasks as lifecycle
from tocsin.core.incidents.scorecard import COLUMNS, quantile, scorecard, to_csv
from tocsin.core.incidents.tasks import Reminders, TaskCommand, TaskCommandKind, TaskId
from tocsin.core.incidents.trail import task_record

MIN = timedelta(minutes=1)
K = TaskCommandKind
PLACES = {"w1": ("D11", "natural.flood"), "w2": ("D11", "natural.flood"), "w3": ("D21", "x")}
RESPONSIBLE = {("D11", "natural.flood"): "D11-FLOOD", ("D21", "x"): "P2-CP"}


def warning(kind: str, ident: str, at: datetime) -> AuditRecord:
    return AuditRecord(at, "rule", f"warning.{kind}", "warning", ident, "", {})


def stepped(at: datetime, responsible: str) -> AuditRecord:
    details = {"responsible": responsible, "region": "D11", "domain": "natural.flood"}
    return AuditRecord(at, "system", "escalation.stepped", "escalation", "w1", "", details)


def run(
    records: list[AuditRecord], *, end: datetime, region: str | None = None
) -> dict[str, dict[str, object]]:
    rows = scorecard(
        records,
        end=end,
        warning_places=PLACES,
        responsible=lambda r, d: RESPONSIBLE.get((r, d)),
        keep=lambda r, _d: region is None or r == region,
    )
    return {f"{r.unit}/{r.domain}": r.as_json() for r in rows}


def test_warnings_received_acknowledged_and_their_times() -> None:
    records = [
        warning("raised", "w1", T0),
        warning("acknowledged", "w1", T0 + 2 * MIN),  # 120 s
        warning("upgraded", "w1", T0 + 10 * MIN),  # a fresh acknowledgement is needed
        warning("acknowledged", "w1", T0 + 20 * MIN),  # 600 s
        warning("raised", "w2", T0 + 5 * MIN),
        warning("acknowledged", "w2", T0 + 6 * MIN),  # 60 s
        warning("raised", "w3", T0),
        warning("lifted", "w3", T0 + MIN),  # never acknowledged
        warning("acknowledged", "w3", T0 + 2 * MIN),  # after the lift: not counted
        stepped(T0 + 8 * MIN, "D11-FLOOD"),
    ]
    rows = run(records, end=T0 + 60 * MIN)
    flood = rows["D11-FLOOD/natural.flood"]
    assert (flood["warnings_received"], flood["warnings_acknowledged"]) == (3, 3)
    assert flood["ack_median_s"] == 120.0
    assert flood["ack_p90_s"] == 504.0  # between 120 and 600 at 0.9 of the way (type 7)
    assert flood["escalations_suffered"] == 1
    water = rows["P2-CP/x"]
    assert (water["warnings_received"], water["warnings_acknowledged"]) == (1, 0)
    assert water["ack_median_s"] is None
    assert set(run(records, end=T0 + 60 * MIN, region="D21")) == {"P2-CP/x"}


def _trail(task: lifecycle.Task, steps: list[tuple[TaskCommand, datetime]]) -> list[AuditRecord]:
    out = []
    for command, at in steps:
        task, event = lifecycle.apply(task, command, at)
        out.append(task_record(event))
    return out


def test_tasks_on_time_late_overdue_reminded_and_escalated() -> None:
    steps = ((0, "D11-FLOOD"), (900, "P1-CP"))
    template = make_task(
        state=lifecycle.TaskState.WAITING,
        assigned_at=None,
        accept_due_at=None,
        complete_due_at=None,
        reminders=Reminders(steps),
    )
    on_time, event = lifecycle.create(template, TaskCommand(K.ASSIGN, "s", "plan"), T0)
    records = [task_record(event)]
    records += _trail(
        on_time,
        [
            (TaskCommand(K.ACCEPT, "u1", "ok"), T0 + 5 * MIN),
            (TaskCommand(K.COMPLETE, "u1", "done", outcome="ok"), T0 + 50 * MIN),
        ],
    )
    late_task = replace(template, id=TaskId("t2"))
    late, event = lifecycle.create(late_task, TaskCommand(K.ASSIGN, "s", "plan"), T0)
    records.append(task_record(event))
    records += _trail(
        late,
        [
            (TaskCommand(K.REMIND, "s", "late", step=0), T0 + 10 * MIN),
            (TaskCommand(K.ESCALATE, "s", "later", step=1), T0 + 25 * MIN),
            (TaskCommand(K.ACCEPT, "u1", "sorry"), T0 + 30 * MIN),  # 20 min past accept-by
            (TaskCommand(K.COMPLETE, "u1", "done", outcome="ok"), T0 + 90 * MIN),
        ],
    )
    open_task = replace(template, id=TaskId("t3"))
    left, event = lifecycle.create(open_task, TaskCommand(K.ASSIGN, "s", "plan"), T0)
    records.append(task_record(event))
    records += _trail(
        left, [(TaskCommand(K.REASSIGN, "duty", "swap", unit="P1-CP", region="P1"), T0 + 20 * MIN)]
    )
    records.sort(key=lambda r: r.at)
    rows = run(records, end=T0 + 4 * 60 * MIN)
    u1 = rows["D11-FLOOD/natural.flood"]
    assert u1["tasks_received"] == 3
    assert (u1["tasks_on_time"], u1["tasks_late"]) == (1, 1)
    assert u1["tasks_accepted_late"] == 1
    assert u1["tasks_overdue"] == 1  # t3 was taken away 10 minutes after its accept-by
    assert (u1["reminders"], u1["escalations_suffered"]) == (1, 1)
    u2 = rows["P1-CP/natural.flood"]
    # t3 reached P1-CP at +20 min (accept by +30) and was still not accepted at the end
    assert (u2["tasks_received"], u2["tasks_overdue"]) == (1, 1)
    early = run(records, end=T0 + 25 * MIN)
    assert early["P1-CP/natural.flood"]["tasks_overdue"] == 0  # its deadline had not passed


def test_csv_has_a_header_and_one_line_per_row() -> None:
    rows = scorecard(
        [
            warning("raised", "w1", T0),
            warning("acknowledged", "w1", T0 + 90 * timedelta(seconds=1)),
        ],
        end=T0 + MIN * 10,
        warning_places=PLACES,
        responsible=lambda r, d: RESPONSIBLE.get((r, d)),
        keep=lambda _r, _d: True,
    )
    lines = to_csv(rows).splitlines()
    assert lines[0].split(",") == list(COLUMNS)
    assert lines[1].split(",")[:6] == ["D11-FLOOD", "natural.flood", "1", "1", "90.0", "90.0"]


def test_quantiles_interpolate_between_order_statistics() -> None:
    assert quantile([], 0.5) is None
    assert quantile([7.0], 0.9) == 7.0
    assert quantile([4.0, 1.0, 3.0, 2.0], 0.5) == 2.5
    assert quantile([10.0, 20.0], 0.9) == 19.0
