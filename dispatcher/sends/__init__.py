"""Sends and the delivery ledger: creating, claiming, recording, reconciling, reporting.

Every function here takes a SQLAlchemy ``Session`` or ``Connection`` and leaves
the transaction to its caller (the task, command or request).
"""
