"""The demo's emergency plans (plans.yaml): what the demo's own warnings set going.

The demo's series end with a water works SCADA server and a hospital database in trouble in
the metropolitan district, so two plans cover supply.water and health anywhere in the demo
country: at orange the province's civil protection inspects and prepares, at red the national
department joins; a lift proposes the stand-down. Every unit is one the demo defines; tasks are
named relative to the warning's region ("the province's unit"), as a real plan would be.
"""

from __future__ import annotations

from typing import Any

HOUR = 3600
PROVINCE = {"level": "province"}


def _task(
    ident: str, title: str, unit: dict[str, str], *, accept_s: int, done_s: int, **more: Any
) -> dict[str, Any]:
    return {
        "id": ident,
        "title": title,
        "unit": dict(unit),
        "acknowledge_within_s": accept_s,
        "complete_within_s": done_s,
        **more,
    }


SUPPORT = _task(
    "support", "Coordinate national support", {"unit": "DPC"}, accept_s=1800, done_s=12 * HOUR
)
DEBRIEF = _task("debrief", "Debrief and report", PROVINCE, accept_s=HOUR, done_s=72 * HOUR)


def demo_plans(country: str) -> dict[str, Any]:
    """plans.yaml for the demo (its country's code)."""
    return {
        "overdue": {
            "steps": [{"after_s": 0, "to": "responsible"}, {"after_s": 1800, "to": "parent"}]
        },
        "plans": [
            {
                "id": "water-supply",
                "name": "Water supply emergency",
                "domain": "supply.water",
                "region": country,
                "lead": PROVINCE,
                "report_every_s": 6 * HOUR,
                "levels": [
                    {
                        "level": "orange",
                        "response": "III",
                        "tasks": [
                            _task(
                                "manual",
                                "Put the water works on manual control",
                                PROVINCE,
                                accept_s=900,
                                done_s=2 * HOUR,
                                checklist=[
                                    "SCADA isolated",
                                    "operators on site",
                                    "pressure logged",
                                ],
                            ),
                            _task(
                                "power",
                                "Check the water works' power feed",
                                {"unit": "GRID-OPS"},
                                accept_s=1800,
                                done_s=3 * HOUR,
                            ),
                            _task(
                                "tankers",
                                "Put drinking-water tankers on standby",
                                PROVINCE,
                                accept_s=1800,
                                done_s=4 * HOUR,
                                after=["manual"],
                            ),
                        ],
                    },
                    {
                        "level": "red",
                        "response": "II",
                        "tasks": [
                            _task(
                                "distribute",
                                "Distribute drinking water",
                                PROVINCE,
                                accept_s=900,
                                done_s=6 * HOUR,
                            ),
                            SUPPORT,
                        ],
                    },
                ],
                "stand_down": [
                    _task(
                        "restore",
                        "Restore automatic control",
                        PROVINCE,
                        accept_s=HOUR,
                        done_s=24 * HOUR,
                    ),
                    {**DEBRIEF, "after": ["restore"]},
                ],
            },
            {
                "id": "hospital",
                "name": "Hospital systems failure",
                "domain": "health",
                "region": country,
                "lead": PROVINCE,
                "levels": [
                    {
                        "level": "orange",
                        "response": "III",
                        "tasks": [
                            _task(
                                "paper",
                                "Switch the hospital to paper records",
                                PROVINCE,
                                accept_s=900,
                                done_s=HOUR,
                            ),
                        ],
                    },
                    {
                        "level": "red",
                        "response": "II",
                        "tasks": [
                            _task(
                                "divert",
                                "Divert ambulances to other hospitals",
                                PROVINCE,
                                accept_s=600,
                                done_s=HOUR,
                            ),
                            SUPPORT,
                        ],
                    },
                ],
                "stand_down": [
                    DEBRIEF,
                ],
            },
        ],
    }
