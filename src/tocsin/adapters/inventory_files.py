"""Software inventories from CSV or JSON files: which asset runs which product.

CSV: a header with the columns `asset` and `software` (others are ignored), one name per row.
JSON: `{"inventory": [{"asset": "...", "software": ["cpe:2.3:...", "pkg:..."]}, ...]}` or the
list alone. Rows are validated in the core (`imported_inventory`): an unknown asset or a name
that is neither a CPE 2.3 name nor a package URL rejects the whole file, naming the row.
"""

from __future__ import annotations

import csv
import io
import json
from typing import Any

from tocsin.core.errors import InvalidInput, Problem
from tocsin.core.exposure.inventory import InventoryRow

MAX_ROWS = 100_000


def _csv_rows(text: str, *, where: str) -> list[InventoryRow]:
    reader = csv.DictReader(io.StringIO(text))
    missing = {"asset", "software"} - set(reader.fieldnames or ())
    if missing:
        raise InvalidInput([Problem(where, "header", f"missing column(s) {sorted(missing)}")])
    rows = []
    for n, row in enumerate(reader, 2):
        asset, name = (row.get("asset") or "").strip(), (row.get("software") or "").strip()
        if asset or name:
            rows.append(InventoryRow(asset, name, f"{where}:{n}"))
    return rows


def _json_rows(data: Any, *, where: str) -> list[InventoryRow]:
    items = data.get("inventory") if isinstance(data, dict) else data
    if not isinstance(items, list):
        raise InvalidInput([Problem(where, "inventory", "a list of {asset, software: [...]}")])
    rows = []
    for i, item in enumerate(items):
        at = f"{where}: inventory[{i}]"
        asset = item.get("asset") if isinstance(item, dict) else None
        names = item.get("software") if isinstance(item, dict) else None
        if not isinstance(asset, str) or not isinstance(names, list):
            raise InvalidInput([Problem(at, "", "an object with asset (text) and software (list)")])
        for j, name in enumerate(names):
            if not isinstance(name, str):
                raise InvalidInput([Problem(at, f"software[{j}]", "not text")])
            rows.append(InventoryRow(asset, name, f"{at}.software[{j}]"))
    return rows


def inventory_rows(text: str, *, where: str) -> list[InventoryRow]:
    """The rows of a CSV or JSON inventory (JSON when it starts with `{` or `[`)."""
    stripped = text.lstrip()
    if stripped.startswith(("{", "[")):
        try:
            data = json.loads(text)
        except (ValueError, RecursionError) as err:
            raise InvalidInput([Problem(where, "", f"not JSON: {err}")]) from None
        rows = _json_rows(data, where=where)
    else:
        rows = _csv_rows(text, where=where)
    if len(rows) > MAX_ROWS:
        raise InvalidInput([Problem(where, "", f"{len(rows):,} rows; at most {MAX_ROWS:,}")])
    return rows
