"""Port: the renderer of situation reports (facts in; an HTML page or a PDF out)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Protocol


class ReportRenderer(Protocol):
    """Draws a situation report's map and charts and sets its text."""

    def html(self, facts: Mapping[str, Any]) -> str:
        """The report as one self-contained HTML page."""

    def pdf(self, facts: Mapping[str, Any]) -> bytes:
        """The report as a PDF."""
