"""The `tocsin` command line: one Typer app, sub-commands registered from their own modules."""

from __future__ import annotations

import typer

app = typer.Typer(
    name="tocsin",
    help="Tocsin: all-hazards risk monitoring and early warning.",
    no_args_is_help=True,
    add_completion=False,
)

# Sub-command modules register themselves below, one line each (keep this list sorted).
from tocsin.cli import alerting as _alerting  # noqa: E402
from tocsin.cli import core_commands as _core  # noqa: E402
from tocsin.cli import demo as _demo  # noqa: E402
from tocsin.cli import detect as _detect  # noqa: E402
from tocsin.cli import risk as _risk  # noqa: E402

app.command("check-config")(_core.check_config)
app.command("demo")(_demo.demo)
app.command("ingest")(_core.ingest)
app.command("migrate")(_core.migrate_command)
app.command("serve")(_core.serve)
app.command("warnings")(_core.warnings)
app.command("acknowledge")(_core.acknowledge)
app.add_typer(_core.users_app, name="users")
app.command("detect")(_detect.detect)
app.add_typer(_detect.bench_app, name="bench")
app.add_typer(_risk.app, name="risk")
app.add_typer(_alerting.silences_app, name="silences")
app.add_typer(_alerting.notify_app, name="notify")
app.command("history")(_alerting.history)
from tocsin.cli import risk_warnings as _risk_warnings  # noqa: E402

_risk.app.command("warn")(_risk_warnings.risk_warn)
