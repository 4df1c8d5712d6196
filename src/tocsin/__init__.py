"""Tocsin: all-hazards risk monitoring and early warning."""

from __future__ import annotations

__version__ = "0.1.0"
