"""What a situation report says, as rows of text: shared by the HTML page and the PDF, so both
say the same."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any, Final

FACT_LABELS: Final = {
    "footer": "Issued by Tocsin from its records; times are UTC.",
}
WARNING_HEAD: Final = ("Level", "Region", "Domain", "What", "State", "Since")
TASK_HEAD: Final = ("Unit", "Task", "State", "Deadline", "Overdue")
INCIDENT_HEAD: Final = ("Incident", "State", "Response", "Lead", "Opened")
TIMELINE_HEAD: Final = ("When", "What", "Who", "Why")


def moment(iso: str | None) -> str:
    """`2026-03-02 08:00 UTC` from ISO 8601 ('–' when none)."""
    if not iso:
        return "–"
    return datetime.fromisoformat(iso).strftime("%Y-%m-%d %H:%M UTC")


def facts_of(facts: Mapping[str, Any]) -> list[tuple[str, str]]:
    """The report's key facts, label and value."""
    incident = facts.get("incident")
    if incident is None:
        return [
            ("Region", str(facts.get("region"))),
            ("Open incidents", str(len(facts.get("incidents", [])))),
            ("Open warnings", str(sum(facts.get("by_level", {}).values()))),
        ]
    plan = incident["plan"] or "none"
    if incident.get("plan_level"):
        plan += f" (at {incident['plan_level']})"
    return [
        ("State", incident["state"]),
        ("Response level", incident["response_level"] or "–"),
        ("Plan", plan),
        ("Lead unit", incident["lead_unit"] or "–"),
        ("Region", incident["region"]),
        ("Domain", incident["domain"]),
        ("Opened", moment(incident["opened_at"])),
        ("Activated", moment(incident.get("activated_at"))),
    ]


def warning_rows(facts: Mapping[str, Any]) -> list[tuple[str, ...]]:
    """One row per warning: level, region, domain, what, state, since."""
    return [
        (
            w["level"].upper(),
            w["region"],
            w["domain"],
            w["name"],
            w["state"],
            moment(w["first_seen_at"]),
        )
        for w in facts.get("warnings", [])
    ]


def task_rows(facts: Mapping[str, Any]) -> tuple[list[tuple[str, ...]], list[bool]]:
    """One row per task (unit, title, state, running deadline, overdue) and which are late."""
    rows: list[tuple[str, ...]] = []
    late: list[bool] = []
    for t in sorted(facts.get("tasks", []), key=lambda t: (t["unit"], t["title"])):
        deadline = t["accept_due_at"] if t["state"] == "assigned" else t["complete_due_at"]
        running = t["state"] in ("assigned", "accepted", "blocked")
        rows.append(
            (
                t["unit"],
                t["title"],
                t["state"],
                moment(deadline) if running else "–",
                "overdue" if t.get("overdue") else "",
            )
        )
        late.append(bool(t.get("overdue")))
    return rows, late


def links_of(facts: Mapping[str, Any]) -> list[tuple[str, list[str]]]:
    """What the report links: public alerts issued, public reports, events."""
    out = [
        ("Public alerts issued", list(facts.get("public_alerts", []))),
        ("Public reports", list(facts.get("public_reports", []))),
    ]
    if facts.get("events"):
        out.append(("Events", list(facts["events"])))
    return out


def incident_rows(facts: Mapping[str, Any]) -> list[tuple[str, ...]]:
    """One row per incident of a region's report."""
    return [
        (
            i["title"],
            i["state"],
            i["response_level"] or "–",
            i["lead_unit"] or "–",
            moment(i["opened_at"]),
        )
        for i in facts.get("incidents", [])
    ]


def timeline_rows(facts: Mapping[str, Any]) -> list[tuple[str, ...]]:
    """The latest records of the timeline: when, what, who, why."""
    return [
        (moment(r["at"]), r["kind"], r["actor"], r["reason"]) for r in facts.get("timeline", [])
    ]
