"""The `tocsin` command line: one Typer app, sub-commands registered from their own modules.

The command modules import only what their signatures need; everything heavy (the database,
numpy, numba, the web server) is imported inside the command that uses it, so that
`tocsin --help` answers in a fraction of a second. Whatever a command raises ends as one
sentence on stderr and a non-zero exit code, never a traceback (`TOCSIN_DEBUG=1` shows it).
"""

from __future__ import annotations

import os
import sys
from typing import Annotated, Any

import typer

from tocsin.cli.common import errors, exit_code_of, log_to_stderr, version

# exit codes: 1 refused or failed, 2 bad input, 70 a bug (EX_SOFTWARE), 130 interrupted
BUG, INTERRUPTED = 70, 130


class Cli(typer.Typer):
    """The Typer app, whose every failure ends as one sentence and an exit code."""

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        """Run the command line; turn any exception that escaped a command into a sentence."""
        log_to_stderr()
        try:
            return super().__call__(*args, **kwargs)
        except KeyboardInterrupt:
            errors.print("interrupted")
            sys.exit(INTERRUPTED)
        except Exception as err:
            if os.environ.get("TOCSIN_DEBUG"):
                raise
            code = exit_code_of(err)
            if code is None:
                errors.print(
                    f"error: unexpected {type(err).__name__}: {err} — this is a bug in Tocsin; "
                    "please report it (TOCSIN_DEBUG=1 shows the traceback)",
                    markup=False,
                    soft_wrap=True,
                )
                sys.exit(BUG)
            errors.print(f"error: {err}", markup=False, soft_wrap=True)
            sys.exit(code)


app = Cli(
    name="tocsin",
    help="Tocsin: all-hazards risk monitoring and early warning.",
    no_args_is_help=True,
    add_completion=False,
    rich_markup_mode=None,
    pretty_exceptions_enable=False,
)


def _print_version(value: bool) -> None:
    if value:
        print(f"tocsin {version()}")
        raise typer.Exit


@app.callback()
def _root(
    _version: Annotated[
        bool,
        typer.Option(
            "--version", help="Print the version and exit.", callback=_print_version, is_eager=True
        ),
    ] = False,
) -> None:
    """Tocsin: all-hazards risk monitoring and early warning."""


# Sub-command modules register themselves below, one line each (keep this list sorted).
from tocsin.cli import alerting as _alerting  # noqa: E402
from tocsin.cli import audit as _audit  # noqa: E402
from tocsin.cli import cap as _cap  # noqa: E402
from tocsin.cli import core_commands as _core  # noqa: E402
from tocsin.cli import demo as _demo  # noqa: E402
from tocsin.cli import detect as _detect  # noqa: E402
from tocsin.cli import exposure as _exposure  # noqa: E402
from tocsin.cli import incidents as _incidents  # noqa: E402
from tocsin.cli import privacy as _privacy  # noqa: E402
from tocsin.cli import reports as _reports  # noqa: E402
from tocsin.cli import response_reports as _response_reports  # noqa: E402
from tocsin.cli import risk as _risk  # noqa: E402
from tocsin.cli import risk_warnings as _risk_warnings  # noqa: E402
from tocsin.cli import sources as _sources  # noqa: E402
from tocsin.cli import stream_roles as _stream_roles  # noqa: E402
from tocsin.cli import tasks as _tasks  # noqa: E402
from tocsin.cli import users as _users  # noqa: E402

app.command("check-config")(_core.check_config)
app.command("demo")(_demo.demo)
app.command("ingest")(_core.ingest)
app.command("migrate")(_core.migrate_command)
app.command("serve")(_core.serve)
app.command("warnings")(_core.warnings)
app.command("worker")(_stream_roles.worker)
app.command("acknowledge")(_core.acknowledge)
app.add_typer(_users.users_app, name="users")
app.add_typer(_audit.audit_app, name="audit")
app.add_typer(_privacy.keys_app, name="keys")
app.add_typer(_privacy.retention_app, name="retention")
app.command("detect", cls=_detect.DetectorHelp)(_detect.detect)
app.add_typer(_detect.bench_app, name="bench")
app.add_typer(_reports.reports_app, name="reports")
app.add_typer(_risk.app, name="risk")
app.add_typer(_exposure.app, name="exposure")
app.add_typer(_alerting.silences_app, name="silences")
app.add_typer(_alerting.notify_app, name="notify")
app.add_typer(_cap.cap_app, name="cap")
app.command("history")(_alerting.history)
app.command("sources")(_sources.sources)
_risk.app.command("warn")(_risk_warnings.risk_warn)
app.add_typer(_incidents.incidents_app, name="incidents")
app.add_typer(_tasks.tasks_app, name="tasks")
app.command("scorecard")(_response_reports.scorecard)
app.command("report")(_response_reports.report)


def main() -> None:
    """The console script's entry point."""
    app()
