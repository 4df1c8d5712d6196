"""Warnings: graded statements that a risk exists, and their lifecycle."""
