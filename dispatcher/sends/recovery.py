"""Taking back the claims of this machine's dead worker processes, from their journals.

A worker process killed in the middle of a batch leaves its journal behind
(:mod:`dispatcher.sends.journal`). Folding it gives the ledger every outcome the
process had, in order; what is left of its claim is then taken back exactly as
when outcomes went to the ledger one by one: the first row still being sent may
have been in flight (uncertain, or retried under ``resend``), the others never
went and are queued again.

It runs where a dead process's successor runs: when a pool process starts (the
prefork pool replaces a killed one at once), before each batch, and before each
reconciler run. The reconciler's own take-back of expired leases is the fallback
for a machine that died with its journals.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
from collections.abc import Callable
from pathlib import Path

from sqlalchemy.orm import Session, sessionmaker

from dispatcher.config import SendingSettings
from dispatcher.sends import fold, journal
from dispatcher.sends.reconcile import take_back_owner
from dispatcher.sends.sql import sql

log = logging.getLogger(__name__)


def recover_orphans(
    sessions: sessionmaker[Session],
    folder: Path,
    database: str,
    policy: SendingSettings,
    clock: Callable[[], dt.datetime],
) -> int:
    """Fold every orphan journal in ``folder`` into the ledger and take back its claim.

    Each orphan is one transaction, and its file goes once that commits: a failure
    (the database unreachable) leaves the rest for the next try.

    :param database: the ledger's :func:`~dispatcher.sends.journal.fingerprint`
    :returns: how many orphans were taken back
    """
    recovered = 0
    for orphan in journal.orphans(folder, database):
        with sessions.begin() as session:
            folded = fold_entries(session, orphan.owner, orphan.entries)
            requeued = take_back_owner(session, orphan.owner, policy, clock())
        orphan.path.unlink()
        recovered += 1
        log.warning(
            "took back the claim of dead worker %s: %d outcomes folded from its journal, "
            "%d rows queued again", orphan.owner, folded, requeued,
        )  # fmt: skip
    return recovered


def fold_entries(session: Session, owner: str, entries: list[journal.Entry]) -> int:
    """Write journal entries into the ledger in ``session``; :returns: rows changed."""
    if not entries:
        return 0
    dialect = session.get_bind().dialect.name
    lines = [json.dumps(entry, ensure_ascii=False) for entry in entries]
    result = session.execute(sql(fold.statement(dialect)), fold.params(lines, owner))
    return int(result.rowcount)  # type: ignore[attr-defined]
