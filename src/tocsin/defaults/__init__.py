"""Packaged defaults (the hazard taxonomy)."""
