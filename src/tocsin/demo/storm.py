"""The demo's flood storm (`tocsin demo --storm CELLS`): river gauges on a grid of cells over
Italy's districts, and a driver that, once the server is up, raises every gauge above its red
threshold through the REST ingest path (`POST /api/v1/observations`), holds them there, then
lets them fall back, so that a duty officer watches a storm arrive on the board and leave it.

Each district is cut into square cells (as many as `CELLS` needs, spread over the districts);
each cell has one gauge (`<cell>.gauge`, natural.flood, metres; yellow 3, orange 4, red 5). The
gauges declare no cadence, so they raise no "source silent" warning once the storm is over. A
child route groups their warnings by district (`group_by: [region_district, domain]`): the
duty desk receives one message a district, not one a cell.
"""

from __future__ import annotations

import json
import logging
import math
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from tocsin.demo.geometry import bounds, cell

log = logging.getLogger(__name__)

LEVEL = "cell"
DOMAIN = "natural.flood"
THRESHOLDS = {"yellow": 3.0, "orange": 4.0, "red": 5.0}
HIGH = 5.6  # metres: every gauge red
LOW = 1.2  # metres: every gauge back to normal
BATCH = 1_000  # gauges a POST (the storm arrives over a few seconds, as a flood spreads)
ROUTE = {  # the storm's gauges: one group a district, its first message after 5 s
    "match": {"matchers": [f'region_{LEVEL}=~".+"']},
    "receiver": "duty-desk",
    "group_by": ["region_district", "domain"],
    "group_wait_s": 5,
    "group_interval_s": 60,
}


def gauge(cell_code: str) -> str:
    """The indicator code of a cell's gauge."""
    return f"{cell_code}.gauge"


def storm_grid(
    districts: Sequence[dict[str, Any]], cells: int
) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """The cells (regions) over the districts and their gauges (indicators), `cells` of each.

    >>> d = {"code": "D1", "name": "Uno", "geometry": cell(10.0, 45.0, 1.0)}
    >>> regions, gauges = storm_grid([d, {**d, "code": "D2"}], 5)
    >>> [r["code"] for r in regions], gauges[0]["code"], gauges[0]["region"]
    (['D1-C001', 'D1-C002', 'D1-C003', 'D2-C001', 'D2-C002'], 'D1-C001.gauge', 'D1-C001')
    """
    if cells <= 0 or not districts:
        return [], []
    per = -(-cells // len(districts))
    side = math.ceil(math.sqrt(per))
    regions: list[dict[str, Any]] = []
    for district in districts:
        min_x, min_y, max_x, max_y = bounds(district["geometry"])
        size = min(max_x - min_x, max_y - min_y) / side
        for j in range(min(per, cells - len(regions))):
            x, y = min_x + (j % side) * size, min_y + (j // side) * size
            regions.append(
                {
                    "code": f"{district['code']}-C{j + 1:03d}",
                    "name": f"{district['name']}, cell {j + 1}",
                    "level": LEVEL,
                    "parent": district["code"],
                    "geometry": cell(x, y, size),
                }
            )
    gauges = [
        {
            "code": gauge(r["code"]),
            "name": f"River gauge, {r['name']}",
            "region": r["code"],
            "domain": DOMAIN,
            "unit": "m",
            "thresholds": THRESHOLDS,
        }
        for r in regions
    ]
    return regions, gauges


@dataclass(frozen=True)
class StormPlan:
    """When the storm comes and how long it stays (seconds after the server answers)."""

    gauges: tuple[str, ...]
    after_s: float = 30.0
    hold_s: float = 300.0


def csv_body(gauges: Sequence[str], value: float, at: int) -> bytes:
    """A CSV batch of one reading for each gauge.

    >>> csv_body(["A.gauge", "B.gauge"], 5.6, 100).decode()
    'indicator,time,value\\nA.gauge,100,5.6\\nB.gauge,100,5.6\\n'
    """
    rows = "".join(f"{g},{at},{value}\n" for g in gauges)
    return f"indicator,time,value\n{rows}".encode()


class StormDriver:
    """Posts the storm's readings to a running server, in a thread of its own."""

    def __init__(
        self,
        plan: StormPlan,
        *,
        base_url: str,
        token: str,
        say: Callable[[str], None],
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.plan = plan
        self.base_url = base_url
        self.token = token
        self.say = say
        self.clock = clock
        self.stopped = threading.Event()
        self.thread = threading.Thread(target=self._run, name="tocsin-demo-storm", daemon=True)

    def start(self) -> None:
        """Start the thread."""
        self.thread.start()

    def stop(self) -> None:
        """Stop before the next step."""
        self.stopped.set()

    def _run(self) -> None:
        try:
            if not self._wait_until_up(timeout_s=120.0):
                self.say("storm: the server did not answer; no storm")
                return
            if self.stopped.wait(self.plan.after_s):
                return
            n = len(self.plan.gauges)
            self.say(f"storm: {n:,} river gauges rising above red (5 m) now")
            self.post_all(HIGH)
            if self.stopped.wait(self.plan.hold_s):
                return
            self.say(f"storm: {n:,} river gauges falling back below yellow (3 m)")
            self.post_all(LOW)
        except (OSError, ValueError) as err:  # a refusal or a lost connection: said, not raised
            self.say(f"storm stopped: {err}")

    def _wait_until_up(self, *, timeout_s: float) -> bool:
        deadline = time.monotonic() + timeout_s
        while not self.stopped.is_set() and time.monotonic() < deadline:
            try:
                with urllib.request.urlopen(f"{self.base_url}/healthz", timeout=5) as answer:
                    if answer.status == 200:
                        return True
            except OSError:
                pass
            self.stopped.wait(0.5)
        return False

    def post_all(self, value: float) -> None:
        """One reading for every gauge, `BATCH` gauges a request, a tenth of a second apart."""
        gauges = self.plan.gauges
        for start in range(0, len(gauges), BATCH):
            if self.stopped.is_set():
                return
            body = csv_body(gauges[start : start + BATCH], value, int(self.clock()))
            self.post(body)
            self.stopped.wait(0.1)

    def post(self, body: bytes) -> dict[str, Any]:
        """POST a CSV batch; the server's answer (ValueError naming its status when refused)."""
        request = urllib.request.Request(
            f"{self.base_url}/api/v1/observations",
            data=body,
            method="POST",
            headers={"Content-Type": "text/csv", "Authorization": f"Bearer {self.token}"},
        )
        try:
            with urllib.request.urlopen(request, timeout=60) as answer:
                found: dict[str, Any] = json.loads(answer.read() or b"{}")
                return found
        except urllib.error.HTTPError as err:
            detail = err.read()[:300].decode("utf-8", "replace")
            raise ValueError(f"the server answered {err.code}: {detail}") from err
