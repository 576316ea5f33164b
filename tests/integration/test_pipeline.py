"""The whole pipeline against real services: PostgreSQL, Redis, a Celery worker process, SMTP.

Each test starts its own worker process (prefork pool, beat embedded) with its
own Redis key prefix (or, for those parametrised with ``broker``, also on RabbitMQ
in a vhost of its own), and an SMTP server on a free port; what the server
received is compared with what the ledger says.
"""

from __future__ import annotations

import email
import email.policy
from collections import Counter
from collections.abc import Callable, Iterator

import pytest
from sqlalchemy.orm import Session, sessionmaker

from dispatcher.config import Settings
from dispatcher.worker.tasks import enqueue_batch
from tests.integration.conftest import BROKERS
from tests.smtpd import SmtpServer
from tests.support.data import address
from tests.support.sending import (
    assert_finished,
    kill_a_claiming_process,
    ledger_rows,
    start_example_send,
    wait_until,
)
from tests.support.worker import WorkerProcess

pytestmark = [pytest.mark.integration, pytest.mark.sending(batch_size=200, lease_seconds=6)]


@pytest.fixture
def smtpd() -> Iterator[SmtpServer]:
    with SmtpServer(pipelining=True) as server:
        yield server


def _start(
    sessions: sessionmaker[Session],
    settings: Settings,
    readers: int,
    enqueue: Callable[[int], None] = enqueue_batch,
) -> int:
    return start_example_send(sessions, settings, readers, 200, enqueue)


def _refusing_one_of_five(
    sessions: sessionmaker[Session],
    settings: Settings,
    smtpd: SmtpServer,
    worker: WorkerProcess,
    refusal: tuple[int, int, str],
) -> int:
    """A send to five, the relay refusing the one at ``refusal``'s index once; it finished."""
    index, code, reply = refusal
    smtpd.fail_rcpt(address(index), [(code, reply)])
    send_id = _start(sessions, settings, 5)
    assert_finished(sessions, send_id, worker, timeout=60)
    return send_id


@pytest.mark.parametrize("broker", BROKERS, indirect=True)
def test_two_thousand_subscribers_each_get_exactly_one_copy(
    pg_sessions: sessionmaker[Session], settings: Settings, smtpd: SmtpServer, worker: WorkerProcess
) -> None:
    send_id = _start(pg_sessions, settings, 2000)

    assert_finished(pg_sessions, send_id, worker, timeout=180)
    received = Counter(rcpt for m in smtpd.accepted for rcpt in m.rcpt_tos)
    assert received == Counter({address(i): 1 for i in range(2000)})
    rows = ledger_rows(pg_sessions, send_id)
    assert {row.status for row in rows} == {"sent"}
    assert all(row.smtp_code == 250 and row.attempts == 1 for row in rows)
    # The ledger's Message-ID and reply are the ones the server saw and said.
    by_id = {row.message_id: row for row in rows}
    for message in smtpd.accepted[:50]:
        parsed = email.message_from_bytes(message.data or b"", policy=email.policy.SMTP)
        row = by_id[parsed["Message-ID"]]
        assert (row.smtp_code, row.smtp_reply) == (message.code, message.reply)
        assert parsed["To"].addresses[0].addr_spec == message.rcpt_tos[0]


def test_a_451_then_250_ends_with_the_row_sent(
    pg_sessions: sessionmaker[Session], settings: Settings, smtpd: SmtpServer, worker: WorkerProcess
) -> None:
    greylisted = (2, 451, "4.7.1 Greylisted, try again later")
    send_id = _refusing_one_of_five(pg_sessions, settings, smtpd, worker, greylisted)
    row = next(r for r in ledger_rows(pg_sessions, send_id) if r.attempts == 2)
    assert (row.status, row.smtp_code) == ("sent", 250)
    assert sorted(Counter(r for m in smtpd.accepted for r in m.rcpt_tos).values()) == [1] * 5


def test_a_550_ends_failed_with_the_reply_kept(
    pg_sessions: sessionmaker[Session], settings: Settings, smtpd: SmtpServer, worker: WorkerProcess
) -> None:
    unknown = (3, 550, "5.1.1 <reader000003@example.org>: User unknown")
    send_id = _refusing_one_of_five(pg_sessions, settings, smtpd, worker, unknown)
    statuses = Counter(r.status for r in ledger_rows(pg_sessions, send_id))
    assert statuses == Counter({"sent": 4, "failed": 1})
    failed = next(r for r in ledger_rows(pg_sessions, send_id) if r.status == "failed")
    assert failed.smtp_code == 550
    assert failed.smtp_reply == "5.1.1 <reader000003@example.org>: User unknown"
    assert address(3) not in {r for m in smtpd.accepted for r in m.rcpt_tos}


def test_the_same_batch_enqueued_twice_sends_nothing_twice(
    pg_sessions: sessionmaker[Session], settings: Settings, smtpd: SmtpServer, worker: WorkerProcess
) -> None:
    def twice(batch_id: int) -> None:
        enqueue_batch(batch_id)
        enqueue_batch(batch_id)

    send_id = _start(pg_sessions, settings, 600, twice)

    assert_finished(pg_sessions, send_id, worker, timeout=120)
    received = Counter(rcpt for m in smtpd.accepted for rcpt in m.rcpt_tos)
    assert len(received) == 600 and set(received.values()) == {1}


@pytest.mark.parametrize("broker", BROKERS, indirect=True)
def test_a_worker_killed_mid_batch_leaves_a_send_that_completes(
    pg_sessions: sessionmaker[Session], settings: Settings, smtpd: SmtpServer, worker: WorkerProcess
) -> None:
    smtpd.delay("dot", 0.004, times=10_000)  # slow enough to be caught in the middle
    send_id = _start(pg_sessions, settings, 1500)
    assert wait_until(lambda: len(smtpd.accepted) > 300, timeout=60)
    kill_a_claiming_process(worker, pg_sessions)  # a pool process in the middle of a batch

    assert_finished(pg_sessions, send_id, worker, timeout=180)
    rows = ledger_rows(pg_sessions, send_id)
    assert Counter(row.status for row in rows) == Counter({"sent": 1500})  # nobody lost
    in_doubt = [row for row in rows if row.in_doubt]
    assert len(in_doubt) == 1  # the message in flight, and only that one
    received = Counter(rcpt for m in smtpd.accepted for rcpt in m.rcpt_tos)
    addresses = dict((row.id, a) for row, a in _addresses(pg_sessions, rows))
    twice = {a for a, n in received.items() if n > 1}
    assert twice <= {addresses[in_doubt[0].id]}  # at most that one got a second copy
    assert max(received.values()) <= 2


def _addresses(sessions: sessionmaker[Session], rows: list) -> list:  # type: ignore[type-arg]
    from subscribers.models import Subscriber

    with sessions() as session:
        emails = {s.id: s.email for s in session.query(Subscriber)}
    return [(row, emails[row.subscriber_id]) for row in rows]
