"""Indicator tables from CSV (one row per region, or per region and period) and score CSVs out.

Problems name the file, the line and the column; a table with any problem is rejected whole.
"""

from __future__ import annotations

import csv
import math
from collections import Counter
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from tocsin.core.errors import InvalidInput, Problem
from tocsin.core.risk.model import TableSpec
from tocsin.core.risk.table import IndicatorTable


def read_csv_rows(path: str | Path) -> list[list[str]]:
    """Every row of a CSV file (InvalidInput naming the file if it cannot be read)."""
    where = str(path)
    try:
        with open(path, newline="", encoding="utf-8-sig") as fh:
            return list(csv.reader(fh))
    except OSError as err:
        raise InvalidInput([Problem(where, "", f"cannot read: {err.strerror}")]) from err
    except (UnicodeDecodeError, csv.Error) as err:
        raise InvalidInput([Problem(where, "", f"not a CSV file: {err}")]) from err


def read_indicator_csv(
    path: str | Path, table: TableSpec, *, required: Sequence[str] = ()
) -> IndicatorTable:
    """Read a CSV of one row per region (and period, if the table has a period column), one
    column per indicator id (NaN for missing marks)."""
    return parse_indicator_rows(read_csv_rows(path), table, required=required, where=str(path))


def _header_problems(
    header: list[str], table: TableSpec, required: Sequence[str], where: str
) -> list[Problem]:
    problems: list[Problem] = []
    if table.id_column not in header:
        problems.append(Problem(where, "line 1", f"no id column {table.id_column!r}"))
    if table.period_column is not None and table.period_column not in header:
        problems.append(Problem(where, "line 1", f"no period column {table.period_column!r}"))
    missing_cols = [c for c in required if c not in header]
    if missing_cols:
        problems.append(Problem(where, "line 1", f"missing columns: {', '.join(missing_cols)}"))
    return problems


def parse_indicator_rows(
    rows: Sequence[Sequence[str]],
    table: TableSpec,
    *,
    required: Sequence[str] = (),
    where: str = "<table>",
) -> IndicatorTable:
    """Parse table rows (header first); see `read_indicator_csv`."""
    if not rows:
        raise InvalidInput([Problem(where, "line 1", "empty file, no header")])
    header = [h.strip() for h in rows[0]]
    problems = _header_problems(header, table, required, where)
    if problems:
        raise InvalidInput(problems)
    id_col = header.index(table.id_column)
    name_col = header.index(table.name_column) if table.name_column in header else None
    period_col = header.index(table.period_column) if table.period_column else None
    wanted = {c: header.index(c) for c in (required or header) if c in header}
    for special in (table.id_column, table.period_column):
        wanted.pop(special or "", None)
    missing_marks = set(table.missing)
    body = rows[1 + table.skip_rows :]
    data = {c: np.full(len(body), math.nan) for c in wanted}
    ids: list[str] = []
    names: list[str] = []
    periods: list[str] = []
    for r, row in enumerate(body):
        line = r + 2 + table.skip_rows
        if len(row) < len(header):
            problems.append(
                Problem(where, f"line {line}", f"{len(row)} fields, header has {len(header)}")
            )
            continue
        ids.append(row[id_col].strip())
        names.append(row[name_col] if name_col is not None else "")
        if period_col is not None:
            periods.append(row[period_col].strip())
            if not periods[-1]:
                problems.append(Problem(where, f"line {line}", "empty period"))
        for col, j in wanted.items():
            cell = row[j].strip()
            if cell in missing_marks:
                continue
            try:
                data[col][r] = float(cell)
            except ValueError:
                problems.append(
                    Problem(where, f"line {line}", f"column {col}: not a number: {cell!r}")
                )
    problems.extend(_duplicates(ids, periods, table, where))
    if problems:
        raise InvalidInput(problems)
    return IndicatorTable(tuple(ids), tuple(names), data, tuple(periods))


def _duplicates(ids: list[str], periods: list[str], table: TableSpec, where: str) -> list[Problem]:
    keys = list(zip(ids, periods, strict=True)) if periods else [(i, "") for i in ids]
    dup = sorted(k for k, c in Counter(keys).items() if c > 1)
    if not dup:
        return []
    shown = ", ".join(f"{i} {p}".strip() for i, p in dup[:5])
    what = "regions in a period" if periods else "region ids"
    return [Problem(where, table.id_column, f"duplicate {what}: {shown}")]


def format_value(v: float) -> str:
    """A float as the shortest text that reads back to it; empty for missing."""
    if math.isnan(v):
        return ""
    if math.isinf(v):
        return "inf" if v > 0 else "-inf"
    if v == int(v) and abs(v) < 1e15:
        return str(int(v))
    return repr(float(v))


def write_table_csv(path: str | Path, header: Sequence[str], rows: Sequence[Sequence[str]]) -> None:
    """Write a CSV file (header, then rows)."""
    with open(path, "w", newline="", encoding="utf-8") as fh:
        writer = csv.writer(fh)
        writer.writerow(header)
        writer.writerows(rows)


def write_rows_csv(
    path: str | Path, header: Sequence[str], rows: Sequence[Sequence[str | float]]
) -> None:
    """Write rows to CSV, floats as their shortest exact text, missing as empty."""
    write_table_csv(
        path,
        header,
        [[format_value(c) if isinstance(c, float) else str(c) for c in row] for row in rows],
    )
