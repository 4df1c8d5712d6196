"""A situation report as a PDF (fpdf2): A4, the same sections and pictures as the HTML page.

Text is set in DejaVu Sans, the TrueType font matplotlib ships (embedded, so any region name
prints, not only Latin-1); the document's dates are the report's own moment, so one report
always renders to the same bytes.
"""

from __future__ import annotations

import io
import unicodedata
from collections.abc import Mapping, Sequence
from datetime import datetime
from pathlib import Path
from typing import Any, Final

from tocsin.adapters.reports import sections
from tocsin.adapters.reports.sections import moment

FONT: Final = "DejaVu"
PAGE_WIDTH: Final = 180.0  # mm inside the margins of A4 (15 mm each side)


def printable(text: str) -> str:
    """The text without control characters (a PDF line has no use for them)."""
    return "".join(c for c in text if c == "\n" or not unicodedata.category(c).startswith("C"))


def _fonts() -> tuple[Path, Path]:
    import matplotlib

    ttf = Path(matplotlib.get_data_path()) / "fonts" / "ttf"
    return ttf / "DejaVuSans.ttf", ttf / "DejaVuSans-Bold.ttf"


class _Writer:
    """An FPDF document with the report's few layouts."""

    def __init__(self, title: str, at: datetime) -> None:
        from fpdf import FPDF

        pdf = FPDF(orientation="P", unit="mm", format="A4")
        regular, bold = _fonts()
        pdf.add_font(FONT, "", str(regular))
        pdf.add_font(FONT, "B", str(bold))
        pdf.set_margins(15, 15, 15)
        pdf.set_auto_page_break(auto=True, margin=15)
        pdf.set_title(printable(title))
        pdf.set_author("Tocsin")
        pdf.set_creation_date(at)
        pdf.add_page()
        self.pdf = pdf

    def heading(self, text: str, *, size: int = 12) -> None:
        from fpdf.enums import XPos, YPos

        self.pdf.set_font(FONT, "B", size)
        self.pdf.multi_cell(
            PAGE_WIDTH, size * 0.5, printable(text), new_x=XPos.LMARGIN, new_y=YPos.NEXT
        )
        self.pdf.ln(1)

    def line(self, text: str, *, size: int = 9) -> None:
        from fpdf.enums import XPos, YPos

        self.pdf.set_font(FONT, "", size)
        self.pdf.multi_cell(PAGE_WIDTH, 4.5, printable(text), new_x=XPos.LMARGIN, new_y=YPos.NEXT)

    def picture(self, png: bytes | None, *, width: float) -> None:
        if png is None:
            return
        self.pdf.image(io.BytesIO(png), w=width)
        self.pdf.ln(2)

    def table(self, head: Sequence[str], rows: Sequence[Sequence[str]]) -> None:
        if not rows:
            self.line("None.")
            return
        self.pdf.set_font(FONT, "", 8)
        with self.pdf.table(text_align="LEFT", line_height=4.5, first_row_as_headings=True) as t:
            for row in [head, *rows]:
                cells = t.row()
                for value in row:
                    cells.cell(printable(str(value)))
        self.pdf.ln(2)

    def bytes(self) -> bytes:
        return bytes(self.pdf.output())


def render_pdf(facts: Mapping[str, Any], pictures: Mapping[str, bytes]) -> bytes:
    """The report's PDF."""
    doc = _Writer(facts["title"], datetime.fromisoformat(facts["as_of"]))
    doc.heading(facts["title"], size=15)
    doc.line(f"As of {moment(facts['as_of'])}")
    doc.table(("Fact", "Value"), sections.facts_of(facts))
    doc.heading("Affected regions")
    doc.picture(pictures.get("map"), width=150)
    doc.heading("Warnings by level")
    doc.picture(pictures.get("levels"), width=95)
    doc.table(sections.WARNING_HEAD, sections.warning_rows(facts))
    doc.heading("Key indicators")
    charts = [png for name, png in pictures.items() if name.startswith("indicator-")]
    for png in charts:
        doc.picture(png, width=120)
    if not charts:
        doc.line("No indicator series.")
    doc.heading("Tasks by unit")
    doc.picture(pictures.get("tasks"), width=130)
    rows, _late = sections.task_rows(facts)
    doc.table(sections.TASK_HEAD, rows)
    for title, items in sections.links_of(facts):
        doc.heading(title)
        doc.table(("Id",), [(i,) for i in items])
    if facts.get("incidents"):
        doc.heading("Incidents")
        doc.table(sections.INCIDENT_HEAD, sections.incident_rows(facts))
    if facts.get("timeline"):
        doc.heading("Latest on the timeline")
        doc.table(sections.TIMELINE_HEAD, sections.timeline_rows(facts))
    doc.line(sections.FACT_LABELS["footer"], size=7)
    return doc.bytes()
