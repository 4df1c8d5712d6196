"""The situation report renderer: facts in, an HTML page or a PDF out, with the same pictures.

The region geometries come from the catalogue (the facts name regions by code); matplotlib
and fpdf2 are imported when a report is drawn, not when this module is.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from tocsin.core.regions import RegionTree


class SituationRenderer:
    """Renders situation report facts (the ReportRenderer port)."""

    def __init__(self, regions: RegionTree) -> None:
        self.geometry: dict[str, Any] = {
            code: dict(r.geometry) for code, r in regions.regions.items() if r.geometry
        }

    def _pictures(self, facts: Mapping[str, Any]) -> dict[str, bytes]:
        from tocsin.adapters.reports.figures import figures

        return figures(facts, self.geometry)

    def html(self, facts: Mapping[str, Any]) -> str:
        """The report as one self-contained HTML page."""
        from tocsin.adapters.reports.html import render_html

        return render_html(facts, self._pictures(facts))

    def pdf(self, facts: Mapping[str, Any]) -> bytes:
        """The report as a PDF."""
        from tocsin.adapters.reports.pdf import render_pdf

        return render_pdf(facts, self._pictures(facts))
