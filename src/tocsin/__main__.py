"""`python -m tocsin`: the same command line as the `tocsin` script."""

from __future__ import annotations

from tocsin.cli.main import main

main()
