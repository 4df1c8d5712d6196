"""Cascades: failures propagating over dependencies (IIM, asset graphs, network pairs)."""
