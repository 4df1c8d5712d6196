"""The in-memory reference store: every port, one module per concept, no database.

It is the specification the SQL store is checked against (the contract suites in tests/adapters
run on both) and a store for tests and experiments; nothing survives the process. `store.py`
opens transactions over `state.py`; each other module is one concept's repository.
"""
