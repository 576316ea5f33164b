"""Outcomes that wait in a worker's journal: after a SIGKILL, and under a short lease.

A real child process runs the batch (the in-memory transport hangs on one message,
the one in flight) and is SIGKILLed; the outcomes it had were in its journal only.
The recovery that its successor runs must put each of them in the ledger and take
the rest of the claim back: one row in doubt, the others queued again.

While outcomes wait in the journal, the claim must not run out under a live
worker: the reconciler would take its rows back and they would go twice.
"""

from __future__ import annotations

import multiprocessing
import os
import signal
import time
from collections.abc import Callable
from pathlib import Path

import pytest
from sqlalchemy.orm import Session, sessionmaker

from dispatcher.config import SendingSettings, Settings
from dispatcher.message.outgoing import OutgoingMessage
from dispatcher.sends import reconcile
from dispatcher.sends.batch import run_batch
from dispatcher.sends.runtime import Runtime
from dispatcher.transport.memory import MemoryTransport
from subscribers.orm import utcnow
from tests.support.data import add_readers_and_edition
from tests.support.sending import ledger_rows, start_send

ROWS = 60
IN_FLIGHT = 41  # the 41st row's message hangs: 40 outcomes are journalled before it


def _hang_on_the_in_flight_row(message: OutgoingMessage) -> tuple[int, str]:
    if message.delivery_id == IN_FLIGHT:
        time.sleep(120)
    return 250, f"2.0.0 Ok: queued as MEM{message.delivery_id}"


def _run_batch_in_child(settings: Settings, batch_id: int) -> None:
    runtime = Runtime(settings, lambda: MemoryTransport(_hang_on_the_in_flight_row))
    run_batch(runtime, batch_id, lambda _: None)


def _journal_lines(folder: Path) -> int:
    return sum(p.read_bytes().count(b"\n") for p in folder.glob("*.journal"))


def _kill_mid_batch(settings: Settings, batch_id: int) -> None:
    child = multiprocessing.get_context("fork").Process(
        target=_run_batch_in_child, args=(settings, batch_id)
    )
    child.start()
    folder = Path(settings.sending.journal_dir)
    deadline = time.monotonic() + 30
    while _journal_lines(folder) < IN_FLIGHT and time.monotonic() < deadline:
        time.sleep(0.01)  # the header and 40 entries
    assert child.pid is not None
    os.kill(child.pid, signal.SIGKILL)
    child.join()


@pytest.mark.parametrize("database", ["postgresql", "sqlite"])
def test_a_killed_workers_journalled_outcomes_reach_the_ledger_and_one_row_is_in_doubt(
    make_settings: Callable[..., Settings],
    request: pytest.FixtureRequest,
    database: str,
) -> None:
    url = request.getfixturevalue("pg_url" if database == "postgresql" else "sqlite_url")
    if database == "postgresql":
        request.getfixturevalue("pg_sessions")  # an empty database
    settings = make_settings(database_url=url, sending=SendingSettings(batch_size=ROWS))
    runtime = Runtime(settings, MemoryTransport)
    try:
        send_id, batch_id = _start(runtime.sessions, settings)
        _kill_mid_batch(settings, batch_id)
        before = {row.id: row.status for row in ledger_rows(runtime.sessions, send_id)}
        assert set(before.values()) == {"sending"}  # the outcomes were in the journal only

        assert runtime.recover_orphans() == 1
        rows = {row.id: row for row in ledger_rows(runtime.sessions, send_id)}
    finally:
        runtime.close()
    sent = [i for i, row in rows.items() if row.status == "sent"]
    assert sorted(sent) == list(range(1, IN_FLIGHT))
    assert all(rows[i].smtp_reply == f"2.0.0 Ok: queued as MEM{i}" for i in sent)
    assert all(rows[i].attempts == 1 and rows[i].message_id for i in sent)
    assert [i for i, row in rows.items() if row.in_doubt] == [IN_FLIGHT]
    assert rows[IN_FLIGHT].status == "deferred"  # UNCERTAIN_POLICY=resend
    assert rows[IN_FLIGHT].smtp_reply == reconcile.IN_FLIGHT_REPLY
    queued = sorted(i for i, row in rows.items() if row.status == "queued")
    assert queued == list(range(IN_FLIGHT + 1, ROWS + 1))
    assert list(Path(settings.sending.journal_dir).iterdir()) == []


def _start(sessions: sessionmaker[Session], settings: Settings) -> tuple[int, int]:
    with sessions.begin() as session:
        edition_id = add_readers_and_edition(session, settings, ROWS)
    batches: list[int] = []
    send_id = start_send(sessions, edition_id, ("cronache",), 1, ROWS, batches.append)
    return send_id, batches[0]


def test_a_slow_batch_keeps_its_short_lease_while_a_reconciler_keeps_looking(
    make_settings: Callable[..., Settings], pg_url: str, pg_sessions: sessionmaker[Session]
) -> None:
    policy = SendingSettings(batch_size=ROWS, lease_seconds=0.6)

    def slow_relay_and_an_eager_reconciler(message: OutgoingMessage) -> tuple[int, str]:
        time.sleep(0.03)  # 60 messages: three times the lease
        with pg_sessions.begin() as session:
            reconcile.reconcile(session, policy, utcnow())
        return 250, "2.0.0 Ok"

    relay = MemoryTransport(slow_relay_and_an_eager_reconciler)
    runtime = Runtime(make_settings(database_url=pg_url, sending=policy), lambda: relay)
    try:
        send_id, batch_id = _start(runtime.sessions, runtime.settings)
        report = run_batch(runtime, batch_id, lambda _: None)
    finally:
        runtime.close()
    rows = ledger_rows(pg_sessions, send_id)
    assert report.stopped is None
    assert {row.status for row in rows} == {"sent"} and not any(row.in_doubt for row in rows)
    assert len(relay.sent) == ROWS
