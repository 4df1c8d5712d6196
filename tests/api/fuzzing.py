"""Fuzz the whole OpenAPI document with schemathesis: valid and invalid requests for every
operation, sent with an admin token to the web app (API and dashboard endpoints) over a fresh
SQLite database. Used by `tests/api/test_fuzz.py` (a bounded, seeded run) and by
`bench/fuzz_api.py` (a longer one)."""

from __future__ import annotations

import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Any

import numpy as np
import schemathesis
from hypothesis import HealthCheck, Phase, given, seed, settings
from hypothesis.errors import Unsatisfiable
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.core.failures import FailureGroup
from schemathesis.core.result import Err
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    negative_data_rejection,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from tocsin.adapters.contact_cipher import new_key
from tocsin.bootstrap import Container, build
from tocsin.config import Settings
from tocsin.core.access import Principal, system_principal
from tocsin.core.observations import ObservationBatch
from tocsin.core.reports import Point
from tocsin.core.users import Role, User, UserName
from tocsin.core.warnings.selectors import Selector
from tocsin.services.access import TokenRequest
from tocsin.services.publication import Choices
from tocsin.services.reports import Submission
from tocsin.testing.clock import FakeClock
from tocsin.testing.scenario import exposure_config, small_plans, write_small_config
from tocsin.web.app import create_web_app

SYSTEM = system_principal("test")

CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
    negative_data_rejection,
]
T = 1_767_225_600  # 2026-01-01T00:00:00Z
OPEN311_KEY = "fuzz-open311-key-0123456789"


@dataclass
class FuzzReport:
    """What a run did and every failure it found (operation, mode, what failed)."""

    operations: int = 0
    cases: int = 0
    server_errors: list[str] = field(default_factory=list)
    violations: list[str] = field(default_factory=list)
    by_status: dict[int, int] = field(default_factory=dict)


@dataclass(frozen=True)
class Target:
    """The app under test, an admin's token, and path parameters that name things that exist."""

    app: Any
    token: str
    known: dict[str, str]


@contextmanager
def fuzz_target(tmp: Path | None = None) -> Iterator[Target]:
    """The web app over the small scenario with a few warnings and a silence, an admin's
    token, and the names of things that exist (for path parameters)."""
    with tempfile.TemporaryDirectory() as scratch:
        base = tmp or Path(scratch)
        settings = Settings(
            database_url=f"sqlite:///{base / 'fuzz.db'}",
            config_dir=_config(base / "config"),
            background_workers=False,
            writes_per_minute=0,  # thousands of writes in seconds: not what the limit is about
            sign_in_per_minute=0,
            open311_api_keys=f"fuzz:{OPEN311_KEY}",
            report_contact_key=new_key(),
        )
        container = build(settings, clock=FakeClock())
        try:
            known = _seed(container)
            container.admin.add_user("fuzz", Role.ADMIN, unit=None, actor="test")
            token = container.access.issue("fuzz", TokenRequest("fuzz"), actor="test")[1]
            app = create_web_app(container, risk=None, live_max_stream_for=0.05)
            yield Target(app, token, known)
        finally:
            container.close()


def _config(folder: Path) -> Path:
    """The small scenario, one indicator also watched by a detector (levels without a score
    threshold included), with the exposure scenario's software, addresses and alert counts."""
    docs = {**exposure_config(), "plans.yaml": small_plans()}
    gauge: dict[str, Any] = docs["indicators.yaml"]["indicators"][0]
    gauge["detector"] = {"kind": "robust_z", "params": {"warmup": 5}, "thresholds": {"red": 0.5}}
    return write_small_config(folder, **docs)


def _seed(container: Container) -> dict[str, str]:
    ids = container.rules.ids
    rows = [("D11.river_level", 5.5), ("D21.reservoir", 25.0), ("P1.rainfall", 45.0)]
    container.ingest.ingest_batch(
        ObservationBatch(
            np.array([ids[c] for c, _ in rows], dtype=np.int64),
            np.arange(T, T + len(rows), dtype=np.int64),
            np.array([v for _, v in rows], dtype=np.float64),
        )
    )
    warning = container.warnings.find(principal=SYSTEM, limit=1)[0]
    now = container.clock.now()
    silence = container.silences.create(
        Selector("D11", None, frozenset(), ()),
        principal=system_principal("fuzz"),
        reason="fuzzing",
        ends_at=now + timedelta(days=2),  # every level for two days: it awaits approval
    )
    alerts = container.cap.alerts
    draft = alerts.draft_from_warning(
        warning.id, principal=_person(container, "writer"), choices=Choices()
    )
    alerts.submit(draft.identifier, principal=_person(container, "writer"))
    alerts.approve(draft.identifier, principal=_person(container, "approver"))
    container.response.responder.tick(now)  # the orange rainfall in P1 opens an incident
    incident = container.response.incidents.find(principal=SYSTEM)[0]
    task = container.response.incidents.tasks(incident.id, principal=SYSTEM)[0]
    report = container.response.situation.issue("incident", incident.id, principal=SYSTEM)
    public_report = container.reports.submit(
        Submission("power_line_down", Point(45.5, 10.5), client="fuzz", address_range="fuzz")
    )
    return {
        "code": "D11.river_level",
        "region": "P1",
        "warning_id": warning.id,
        "silence_id": silence.id,
        "identifier": draft.identifier,  # a published public alert
        "incident_id": incident.id,
        "task_id": task.id,
        "report_id": report.id,
        "service_request_id": public_report.id,
        "token": public_report.id,
        "service_code": "gas_smell",
        "fmt": "json",
    }


def _person(container: Container, name: str) -> Principal:
    """A national duty officer (drafts, approves)."""
    return container.access.principal(User(UserName(name), Role.DUTY_OFFICER, "NAT"))


def fuzz(
    target: Target,
    *,
    examples: int,
    seed_value: int,
    progress: Callable[[str], None] | None = None,
) -> FuzzReport:
    """Run `examples` valid and `examples` invalid cases against every operation, and as many
    valid ones again with path parameters that name things that exist."""
    schema = schemathesis.openapi.from_asgi("/openapi.json", target.app)
    headers = {"Authorization": f"Bearer {target.token}"}
    report = FuzzReport()
    for result in schema.get_all_operations():
        if isinstance(result, Err):  # the document itself is wrong: stop at once
            raise result.err()
        operation = result.ok()
        report.operations += 1
        names = {p.name for p in operation.path_parameters}
        rounds: list[tuple[GenerationMode, dict[str, str] | None]] = [
            (GenerationMode.POSITIVE, None),
            (GenerationMode.NEGATIVE, None),
        ]
        if names and names <= set(target.known):
            rounds.append((GenerationMode.POSITIVE, {n: target.known[n] for n in names}))
        for mode, path in rounds:
            started = time.perf_counter()
            strategy = operation.as_strategy(generation_mode=mode, path_parameters=path)
            _run(
                strategy,
                f"{operation.label} [{mode.value}{' known' if path else ''}]",
                headers,
                report,
                examples=examples,
                seed_value=seed_value,
            )
            if progress is not None:
                took = time.perf_counter() - started
                progress(f"{operation.label} {mode.value}: {took:.1f} s")
    return report


def _run(
    strategy: Any,
    where: str,
    headers: dict[str, str],
    report: FuzzReport,
    *,
    examples: int,
    seed_value: int,
) -> None:
    @seed(seed_value)
    @settings(
        max_examples=examples,
        database=None,
        deadline=None,
        phases=[Phase.explicit, Phase.generate],
        suppress_health_check=list(HealthCheck),
    )
    @given(strategy)
    def one(case: Any) -> None:
        report.cases += 1
        if isinstance(case.body, dict) and "api_key" in case.body and "negative" not in where:
            case.body["api_key"] = OPEN311_KEY  # valid reports get past the key to the checks
        try:
            response = case.call(headers=headers)
        except Exception as err:  # the app raised instead of answering: a server error
            report.server_errors.append(f"{where}: {type(err).__name__}: {err}")
            return
        status = response.status_code
        report.by_status[status] = report.by_status.get(status, 0) + 1
        try:
            case.validate_response(response, checks=CHECKS, headers=headers)
        except (AssertionError, FailureGroup) as failure:
            bucket = report.server_errors if status >= 500 else report.violations
            bucket.append(f"{where} {status}: {str(failure).strip()[:2000]}")

    try:
        one()
    except Unsatisfiable:  # no invalid request exists (an operation without any input)
        if "negative" not in where:
            raise
