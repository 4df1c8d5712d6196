"""The SQL store (SQLAlchemy Core; SQLite and PostgreSQL): one module per concept.

`store.py` (SqlStore) and `alerting.py` (SqlAlertingStore) open the two kinds of transaction and
hand out one repository per concept (`observations.py`, `warnings.py`, `groups.py`, `outbox.py`,
…); where the databases differ, the repositories call the writer chosen once per engine
(`../dialects.py`, `../sqlite_writer.py`, `../postgres_writer.py`).
"""
