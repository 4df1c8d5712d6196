"""Situation reports in memory."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from datetime import datetime

from tocsin.adapters.storage.memory.state import MemoryState
from tocsin.ports.incidents import StoredReport


class MemorySituationReports:
    """The SituationReports port in one transaction."""

    def __init__(self, state: MemoryState) -> None:
        self.state = state

    def add(self, report: StoredReport) -> None:
        """Store a report (an id already stored is kept)."""
        self.state.situation_reports.setdefault(report.id, report)

    def get(self, report_id: str) -> StoredReport | None:
        """One report with its facts."""
        return self.state.situation_reports.get(report_id)

    def find(self, subject_kind: str, subject_id: str, *, limit: int) -> list[StoredReport]:
        """A subject's reports, newest first, without their facts."""
        found = [
            r
            for r in self.state.situation_reports.values()
            if r.subject_kind == subject_kind and r.subject_id == subject_id
        ]
        found.sort(key=lambda r: r.id)
        found.sort(key=lambda r: r.created_at, reverse=True)
        return [replace(r, facts={}) for r in found[:limit]]

    def latest(self, subject_kind: str, subject_ids: Sequence[str]) -> dict[str, datetime]:
        """When each subject's newest report was issued."""
        wanted = set(subject_ids)
        out: dict[str, datetime] = {}
        for r in self.state.situation_reports.values():
            if r.subject_kind == subject_kind and r.subject_id in wanted:
                out[r.subject_id] = max(out.get(r.subject_id, r.created_at), r.created_at)
        return out
