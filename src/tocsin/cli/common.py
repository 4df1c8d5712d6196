"""What every command shares: settings from options, error rendering, the console."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

from tocsin.config import Settings
from tocsin.core.errors import InvalidInput, Problem, TocsinError

console = Console(highlight=False)
errors = Console(stderr=True, highlight=False)

DbOption = Annotated[
    str | None,
    typer.Option(
        "--db", help="Database URL (default: TOCSIN_DATABASE_URL or sqlite:///var/tocsin.db)"
    ),
]
ConfigOption = Annotated[
    Path | None,
    typer.Option(
        "--config", help="Configuration directory to load (YAML)", exists=True, file_okay=False
    ),
]


def settings(db: str | None = None, config: Path | None = None) -> Settings:
    """Settings from the environment, overridden by command-line options."""
    base = Settings()
    changes: dict[str, object] = {}
    if db is not None:
        changes["database_url"] = db
    if config is not None:
        changes["config_dir"] = config
    return base.model_copy(update=changes)


def print_problems(problems: tuple[Problem, ...], limit: int = 50) -> None:
    """One problem per line, never wrapped, so that each stays grep-able."""
    for problem in problems[:limit]:
        errors.print(f"  {problem}", markup=False, soft_wrap=True)
    if len(problems) > limit:
        errors.print(f"  … and {len(problems) - limit} more", soft_wrap=True)


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
        errors.print(f"[bold red]error:[/] {err}", soft_wrap=True)
        raise typer.Exit(1) from err
