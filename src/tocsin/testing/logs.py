"""Every log line of a run, as a deployment that logs verbosely would write it: Tocsin's and
every library's, down to DEBUG, through Tocsin's own formatter (the one `tocsin serve` sets
up, which redacts credentials and addresses). For the scans that look for secrets in logs."""

from __future__ import annotations

import io
import logging
from collections.abc import Iterator
from contextlib import contextmanager

from tocsin.cli.common import CHATTY, LogFormatter, quiet_chatty_libraries


@contextmanager
def captured_log() -> Iterator[io.StringIO]:
    """Capture everything logged inside the block into the returned text buffer."""
    out = io.StringIO()
    handler = logging.StreamHandler(out)
    handler.setFormatter(LogFormatter("%(levelname)s %(name)s: %(message)s"))
    loggers = [logging.getLogger(), logging.getLogger("tocsin")]
    levels = {n: logging.getLogger(n).level for n in ("", "tocsin", *CHATTY)}
    quiet_chatty_libraries()
    for logger in loggers:
        logger.addHandler(handler)
        logger.setLevel(logging.DEBUG)
    try:
        yield out
    finally:
        for logger in loggers:
            logger.removeHandler(handler)
        for name, level in levels.items():
            logging.getLogger(name).setLevel(level)
