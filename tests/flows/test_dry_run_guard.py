"""A dry run is never a send of its edition for the "already sent" guard.

Issue 14, part 4. While a dry run is still running (its rows not yet written, so
nothing in its counts says "nobody received it"), a real send of the edition to the
same list is not refused, and its ledger holds everyone.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from sqlalchemy.orm import Session, sessionmaker

from dispatcher.config import Settings
from dispatcher.sends import dryrun, ledger
from subscribers.orm import utcnow
from tests.support.data import add_readers_and_edition
from tests.support.sending import ledger_rows


def test_a_running_dry_run_does_not_make_the_real_send_a_repeat(
    pg_sessions: sessionmaker[Session], make_settings: Callable[..., Settings], tmp_path: Path
) -> None:
    settings: Settings = make_settings()
    with pg_sessions.begin() as session:
        edition_id = add_readers_and_edition(session, settings, 4)
        dry, rows = dryrun.start_dry_run(
            session, edition_id, ["cronache"], tmp_path / "dry", now=utcnow(), batch_size=10
        )
    assert rows == 4
    with pg_sessions.begin() as session:
        real = ledger.create_send(session, edition_id, ["cronache"], utcnow())  # no StateError
        assert ledger.start_send(session, real.id, utcnow(), 10) == 4
    assert {row.status for row in ledger_rows(pg_sessions, real.id)} == {"queued"}
    assert {row.status for row in ledger_rows(pg_sessions, dry.id)} == {"queued"}
