"""Folding journal entries into the ledger: one UPDATE for many rows.

The entries travel as one JSON parameter, the very lines the journal holds, so
folding a hundred outcomes is one statement the database parses in C. A row
changes only while ``owner`` still names the claim that wrote the entry: a row
the reconciler took back meanwhile is left alone, and the caller sees fewer rows
changed than it sent.
"""

from __future__ import annotations

from collections.abc import Sequence

# What one entry does to its row (the row's own columns where the entry is silent).
_SET = """
SET status = r.status,
    smtp_code = CASE WHEN r.attempted THEN r.code ELSE deliveries.smtp_code END,
    smtp_reply = r.reply,
    message_id = CASE WHEN r.attempted THEN r.message_id ELSE deliveries.message_id END,
    attempts = deliveries.attempts + CASE WHEN r.attempted THEN 1 ELSE 0 END,
    first_attempt_at = CASE WHEN r.attempted
                            THEN COALESCE(deliveries.first_attempt_at, r.at)
                            ELSE deliveries.first_attempt_at END,
    last_attempt_at = COALESCE(r.at, deliveries.last_attempt_at),
    due_at = r.due, owner = NULL, in_doubt = (deliveries.in_doubt OR r.in_doubt)
"""

# The owner comes in through the row set, behind OFFSET 0, so the planner cannot
# turn it into a filter on the ledger alone: the ledger's statistics, taken before
# any row was claimed, say no row has an owner, and the prepared statement's
# generic plan then scanned the whole ledger for it (30 ms a fold at 20,000 rows)
# instead of looking each row up by its key (1 ms). jsonb: ->> on json text parses
# the element again for every field.
_POSTGRESQL_ROWS = """
FROM (SELECT (e->>0)::bigint AS id, e->>1 AS status, (e->>2)::integer AS code,
             e->>3 AS reply, e->>4 AS message_id, (e->>5)::timestamptz AS due,
             (e->>6)::boolean AS in_doubt, (e->>7)::timestamptz AS at,
             (e->>8)::boolean AS attempted, CAST(:owner AS text) AS owner
      FROM jsonb_array_elements(CAST(:rows AS jsonb)) AS e OFFSET 0) AS r
WHERE deliveries.id = r.id AND deliveries.owner = r.owner"""

# SQLite keeps times as SQLAlchemy writes them: the first 26 characters of utc_text.
_SQLITE_ROWS = """
FROM (SELECT json_extract(value, '$[0]') AS id, json_extract(value, '$[1]') AS status,
             json_extract(value, '$[2]') AS code, json_extract(value, '$[3]') AS reply,
             json_extract(value, '$[4]') AS message_id,
             substr(json_extract(value, '$[5]'), 1, 26) AS due,
             json_extract(value, '$[6]') AS in_doubt,
             substr(json_extract(value, '$[7]'), 1, 26) AS at,
             json_extract(value, '$[8]') AS attempted
      FROM json_each(:rows)) AS r
WHERE deliveries.id = r.id AND deliveries.owner = :owner"""

_POSTGRESQL = "UPDATE deliveries" + _SET + _POSTGRESQL_ROWS  # nosec B608 - constants; values bound
_SQLITE = "UPDATE deliveries" + _SET + _SQLITE_ROWS  # nosec B608 - constants; values bound


def statement(dialect: str) -> str:
    """The fold for a database (``postgresql`` or ``sqlite``), with ``:rows`` and ``:owner``."""
    return _POSTGRESQL if dialect == "postgresql" else _SQLITE


def params(lines: Sequence[str], owner: str) -> dict[str, object]:
    """The parameters for :func:`statement`: the entries' JSON lines and the claim's owner."""
    return {"rows": "[" + ",".join(lines) + "]", "owner": owner}
