"""The OASIS CAP 1.2 XML schema (`CAP-v1.2.xsd`), read once, checking documents (xmlschema).

The schema file is not shipped with Tocsin: `TOCSIN_CAP_SCHEMA` names it (by default
`../shared/benchdata/cap/schema/CAP-v1.2.xsd`). Without it nothing is published or imported:
validation before anything leaves is not optional. Each schema error becomes a problem naming
the element's path (`/alert/info[1]/urgency`) and the schema's reason.
"""

from __future__ import annotations

import threading
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any, Final

from tocsin.core.cap.message import CAP_NAMESPACE
from tocsin.core.errors import Problem, Unavailable

MAX_ERRORS: Final = 20
CAP_TAG: Final = f"{{{CAP_NAMESPACE}}}"


class CapSchema:
    """The CAP 1.2 schema, loaded on first use (a second or so) and shared by threads."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._schema: Any = None
        self._lock = threading.Lock()

    def _load(self) -> Any:
        with self._lock:
            if self._schema is None:
                import xmlschema  # here: importing and building it takes a while

                if not self.path.is_file():
                    raise Unavailable(
                        f"the CAP 1.2 schema is not at {self.path}: set TOCSIN_CAP_SCHEMA to "
                        "OASIS's CAP-v1.2.xsd (nothing is published or imported unchecked)"
                    )
                try:
                    self._schema = xmlschema.XMLSchema(str(self.path))
                except (xmlschema.XMLSchemaException, OSError) as err:
                    raise Unavailable(f"cannot read the CAP schema {self.path}: {err}") from err
            return self._schema

    def problems(self, element: ET.Element, *, where: str) -> list[Problem]:
        """The schema's objections to an alert element (empty when it is valid)."""
        schema = self._load()
        out: list[Problem] = []
        for error in schema.iter_errors(element):
            path = str(getattr(error, "path", None) or "").replace(CAP_TAG, "")
            reason = getattr(error, "reason", None) or getattr(error, "message", str(error))
            out.append(Problem(f"{where}{path}", "schema", str(reason).replace(CAP_TAG, "")))
            if len(out) >= MAX_ERRORS:
                break
        return out
