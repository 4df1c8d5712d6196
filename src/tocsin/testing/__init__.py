"""Test support shipped with the package: fake clock, small scenarios, conformance checks."""
