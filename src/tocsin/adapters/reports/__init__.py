"""Situation reports rendered: HTML and PDF with a map and charts drawn on the server."""
