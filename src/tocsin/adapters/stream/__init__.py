"""The ingest stream between API processes and workers."""
