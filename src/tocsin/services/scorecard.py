"""The responsibility system's use case: a scorecard per unit and domain for a period and a
region subtree, computed from the audit trail (core/incidents/scorecard.py).

Each record counts where it sits: a warning's raises, acknowledgements and escalations in the
warning's region and domain, a task's records in its unit's region and the domain it acts in.
A record counts when the region is in the chosen subtree and the principal's scope holds it.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from functools import lru_cache

from tocsin.core.access import Placement, Principal, require, sees
from tocsin.core.errors import InvalidInput, NotFound, Problem
from tocsin.core.incidents.scorecard import ScoreRow, scorecard
from tocsin.core.incidents.trail import ESCALATION, TASK
from tocsin.core.regions import RegionCode
from tocsin.core.users import Permission
from tocsin.ports import ResponseStore
from tocsin.services.response_pass import ResponseContext

SUBJECTS = ("warning", ESCALATION, TASK)


@dataclass(frozen=True)
class ScorecardService:
    """Scorecards from the trail."""

    store: ResponseStore
    context: ResponseContext

    def scorecard(
        self,
        *,
        principal: Principal,
        start: datetime,
        end: datetime,
        region: str | None = None,
    ) -> list[ScoreRow]:
        """Every (unit, domain) row over [start, end) in a region's subtree (None: all)."""
        require(principal, Permission.READ)
        if end <= start:
            raise InvalidInput([Problem("period", "end", "must be after the start")])
        tree = self.context.catalog.regions
        subtree: frozenset[str] | None = None
        if region is not None:
            if region not in tree:
                raise NotFound(f"unknown region {region!r}")
            subtree = frozenset(tree.subtree(RegionCode(region)))

        def keep(where: str, domain: str) -> bool:
            inside = subtree is None or where in subtree
            return inside and sees(principal.scope, Placement(where, domain))

        with self.store.transaction() as tx:
            records = tx.response_trail.between(start, end, subject_types=SUBJECTS)
            ids = sorted({r.subject_id for r in records if r.subject_type == "warning"})
            warnings = tx.warnings.by_ids(ids)
        places = {i: (w.region, w.domain) for i, w in warnings.items()}
        responsible = lru_cache(maxsize=4096)(self.context.responsible)
        return scorecard(
            records, end=end, warning_places=places, responsible=responsible, keep=keep
        )
