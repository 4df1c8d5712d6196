"""What every command shares: settings from options, error rendering, filters, the console.

Only light modules are imported here (see `tocsin.cli.main`): settings, pydantic and the
database are imported when a command runs.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Collection, Iterable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, Final

import typer
from rich.console import Console
from rich.markup import escape

from tocsin.core.errors import InvalidInput, Problem, TocsinError
from tocsin.core.levels import LEVELS, Level

if TYPE_CHECKING:
    from tocsin.bootstrap import Container
    from tocsin.config import Settings

# where a setting comes from, for messages (the rest come from TOCSIN_ variables only)
_OPTIONS = {
    "database_url": "--db (or TOCSIN_DATABASE_URL)",
    "config_dir": "--config",
    "role": "--role (or TOCSIN_ROLE)",
}
console = Console(highlight=False)
errors = Console(stderr=True, highlight=False)

DbOption = Annotated[
    str | None,
    typer.Option(
        "--db",
        metavar="URL",
        help="Database URL (default: TOCSIN_DATABASE_URL or sqlite:///var/tocsin.db)",
    ),
]
ConfigOption = Annotated[
    Path | None,
    typer.Option(
        "--config",
        metavar="DIR",
        help="Configuration directory to load (YAML)",
        exists=True,
        file_okay=False,
    ),
]
LevelOption = Annotated[
    list[str] | None,
    typer.Option(
        metavar="LEVEL",
        help="Only these levels: blue, yellow, orange, red (repeat, or separate with commas)",
    ),
]
ReasonOption = Annotated[str, typer.Option(metavar="TEXT", help="Why")]
JsonLinesOption = Annotated[bool, typer.Option("--json", help="One JSON object per line")]
WarningIdArg = Annotated[
    str, typer.Argument(metavar="WARNING_ID", help="Warning id (or a unique prefix)")
]


class LogFormatter(logging.Formatter):
    """`WARNING tocsin.x: message (warning=4f2a…, receiver=duty-desk)`: a record's structured
    extras (ids and the like) are printed after its message, so every line names what it is
    about."""

    def format(self, record: logging.LogRecord) -> str:
        """The message, then the extras the caller attached; credentials in URLs, secret
        parameters and e-mail addresses are written as `***` (tocsin.core.redaction)."""
        from tocsin.core.redaction import redact_text

        text = super().format(record)
        extras = {k: v for k, v in vars(record).items() if k not in _RECORD_FIELDS}
        if extras:
            text += " (" + ", ".join(f"{k}={v}" for k, v in extras.items()) + ")"
        return redact_text(text)


_RECORD_FIELDS = frozenset(vars(logging.makeLogRecord({}))) | {"message", "asctime"}


# libraries whose INFO and DEBUG lines repeat whole request URLs, which may carry a receiver's
# token in their path: only their warnings are let through, whatever the root logger allows
CHATTY: Final = ("httpx", "httpcore")


def quiet_chatty_libraries() -> None:
    """Let only warnings through from the libraries that would log receivers' URLs."""
    for name in CHATTY:
        logging.getLogger(name).setLevel(logging.WARNING)


def log_to_stderr(level: int = logging.WARNING) -> None:
    """Tocsin's log records on stderr, one line each, with their extras."""
    quiet_chatty_libraries()
    logger = logging.getLogger("tocsin")
    if any(isinstance(h.formatter, LogFormatter) for h in logger.handlers):
        return
    handler = logging.StreamHandler()
    handler.setFormatter(LogFormatter("%(levelname)s %(name)s: %(message)s"))
    logger.addHandler(handler)
    logger.setLevel(level)
    logger.propagate = False


def group(help: str) -> typer.Typer:
    """A sub-command group rendered like the main app (plain help, no type labels)."""
    return typer.Typer(help=help, no_args_is_help=True, rich_markup_mode=None)


def version() -> str:
    """The installed distribution's version (the source tree's when not installed)."""
    from importlib.metadata import PackageNotFoundError
    from importlib.metadata import version as installed

    try:
        return installed("tocsin")
    except PackageNotFoundError:
        from tocsin import __version__

        return __version__


def settings(db: str | None = None, config: Path | None = None, **more: object) -> Settings:
    """Settings from the environment, overridden by command-line options (validated alike)."""
    from pydantic import ValidationError

    from tocsin.config import Settings

    changes: dict[str, object] = {k: v for k, v in more.items() if v is not None}
    if db is not None:
        changes["database_url"] = db
    if config is not None:
        changes["config_dir"] = config
    try:
        return Settings(**changes)  # type: ignore[arg-type]
    except ValidationError as err:
        raise TocsinError(
            "; ".join(
                f"{_setting(str(e['loc'][0]))}: {e['msg'].removeprefix('Value error, ')}"
                for e in err.errors(include_url=False)
            )
        ) from None


def open_container(db: str | None = None, config: Path | None = None) -> Container:
    """The container over the database (and the configuration directory, for the commands that
    read one)."""
    from tocsin.bootstrap import build

    return build(settings(db, config))


def _setting(name: str) -> str:
    return _OPTIONS.get(name, f"TOCSIN_{name.upper()}")


def parse_levels(values: Iterable[str] | None) -> tuple[Level, ...]:
    """`--level red --level orange,yellow` as levels; an unknown name is an error."""
    names = [n.strip().lower() for v in values or () for n in v.split(",") if n.strip()]
    unknown = [n for n in names if n not in set(LEVELS)]
    if unknown:
        raise typer.BadParameter(
            f"unknown level {unknown[0]!r} (known: {', '.join(LEVELS)})", param_hint="--level"
        )
    return tuple(dict.fromkeys(Level(n) for n in names))


def check_known(option: str, value: str | None, known: Collection[str]) -> None:
    """A usage error listing what is known (up to 20) when `value` is not one of `known`."""
    if value is None or value in known:
        return
    shown = sorted(known)
    listed = ", ".join(shown[:20]) + (f", … ({len(shown)} in all)" if len(shown) > 20 else "")
    raise typer.BadParameter(
        f"unknown {option.lstrip('-')} {value!r} (known: {listed})", param_hint=option
    )


def number(value: Any) -> str:
    """A measured value as people read it: 6 significant digits, no float noise."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        return "" if value is None else str(value)
    if isinstance(value, float) and not math.isfinite(value):
        return str(value)
    return f"{value:.6g}"


def print_table(
    columns: Sequence[str], rows: Iterable[Sequence[str]], *, keys: Collection[str] = ()
) -> None:
    """Plain columns, one line per row, fitted to the terminal: `keys` columns (ids) are always
    shown whole; when the line is too long the widest other columns are shortened with `…`."""
    cells = [list(columns), *([str(c) for c in r] for r in rows)]
    widths = [max(len(r[i]) for r in cells) for i in range(len(columns))]
    fixed = {i for i, name in enumerate(columns) if name in keys}
    room = console.width - 2 * (len(columns) - 1)
    while sum(widths) > room:
        shrinkable = [i for i in range(len(widths)) if i not in fixed and widths[i] > MIN_COLUMN]
        if not shrinkable:
            break  # ids stay whole: the line is longer than the terminal
        widest = max(shrinkable, key=lambda i: widths[i])
        widths[widest] -= 1
    for n, row in enumerate(cells):
        line = "  ".join(_fit(text, w).ljust(w) for text, w in zip(row, widths, strict=True))
        console.print(line.rstrip(), markup=False, soft_wrap=True, style="bold" if n == 0 else None)


MIN_COLUMN = 5


def _fit(text: str, width: int) -> str:
    return text if len(text) <= width else text[: width - 1] + "…"


def print_problems(problems: tuple[Problem, ...], limit: int = 50) -> None:
    """One problem per line, never wrapped, so that each stays grep-able."""
    for problem in problems[:limit]:
        errors.print(f"  {problem}", markup=False, soft_wrap=True)
    if len(problems) > limit:
        errors.print(f"  … and {len(problems) - limit} more", soft_wrap=True)


def exit_code_of(err: BaseException) -> int | None:
    """1 for a refused or failed operation, 2 for bad input, None for anything unexpected."""
    if isinstance(err, InvalidInput):
        return 2
    if isinstance(err, TocsinError):
        return 1
    return None


@contextmanager
def reported() -> Iterator[None]:
    """Turn Tocsin errors into a readable message and exit code 1 (2 for bad input)."""
    try:
        yield
    except InvalidInput as err:
        errors.print(
            f"[bold red]error:[/] rejected, nothing was stored ({len(err.problems)} problem(s))"
        )
        print_problems(err.problems)
        raise typer.Exit(2) from err
    except TocsinError as err:
        errors.print(f"[bold red]error:[/] {escape(str(err))}", soft_wrap=True)
        raise typer.Exit(exit_code_of(err) or 1) from err


@contextmanager
def owning_rules(container: Container) -> Iterator[None]:
    """Hold the rules' lease while the block runs (waiting for a server's to run out, if one
    just stopped), then give it up and close the container."""
    from datetime import timedelta

    from tocsin.services.background import keep_leases

    rules = container.leases.rules
    stop_keeping = keep_leases([rules], interval=rules.ttl.total_seconds() / 3)
    try:
        rules.require(wait=rules.ttl + timedelta(seconds=1))
        yield
    finally:
        stop_keeping()
        container.close()
