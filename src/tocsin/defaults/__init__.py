"""Packaged default configuration (the hazard taxonomy)."""
