"""RabbitMQ killed and restarted in the middle of a send: nothing is lost.

The test starts a RabbitMQ node of its own (the machine's is shared and never
stopped), SIGKILLs it while batches are queued and running, and starts it again
on the same data. Durable queues and persistent, confirmed messages keep what
was queued; a batch whose acknowledgement was lost with the connection is
delivered again and finds its rows claimed or sent. The send completes with
everyone reached, a second copy only for a row flagged in doubt.
"""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from dispatcher.config import Settings
from dispatcher.worker.tasks import enqueue_batch
from subscribers.models import Subscriber
from tests.smtpd import SmtpServer
from tests.support.private_rabbit import private_rabbit
from tests.support.sending import (
    assert_finished,
    ledger_rows,
    quick_policy,
    start_example_send,
    wait_until,
)
from tests.support.worker import WorkerProcess

pytestmark = [pytest.mark.integration, pytest.mark.slow]

RECOVERY = quick_policy(batch_size=500, lease_seconds=5, redispatch_after=5)
READERS = 4000


@pytest.fixture
def smtpd() -> Iterator[SmtpServer]:
    with SmtpServer(pipelining=True, keep_data=False) as server:
        yield server


def test_rabbitmq_killed_and_restarted_during_a_send_loses_nobody(
    enqueuing_settings: Callable[..., Settings],
    pg_sessions: sessionmaker[Session],
    smtpd: SmtpServer,
    tmp_path: Path,
) -> None:
    smtpd.delay("dot", 0.002, times=100_000)  # long enough a send to break it in the middle
    with private_rabbit() as rabbit:
        settings = enqueuing_settings(smtp_url=smtpd.url, sending=RECOVERY, broker_url=rabbit.url)
        with WorkerProcess(settings, tmp_path, concurrency=2) as worker:
            send_id = start_example_send(pg_sessions, settings, READERS, 500, enqueue_batch)
            assert wait_until(lambda: len(smtpd.accepted) > 800, timeout=60), worker.log()
            rabbit.kill()
            time.sleep(3)
            rabbit.start()  # the same data: the durable queue and its messages
            assert_finished(pg_sessions, send_id, worker, timeout=240)

    rows = ledger_rows(pg_sessions, send_id)
    assert Counter(row.status for row in rows) == Counter({"sent": READERS})
    with pg_sessions() as session:
        emails = dict(session.execute(select(Subscriber.id, Subscriber.email)).all())
    received = Counter(rcpt for m in smtpd.accepted for rcpt in m.rcpt_tos)
    assert set(received) == {emails[row.subscriber_id] for row in rows}
    doubtful = {emails[row.subscriber_id] for row in rows if row.in_doubt}
    assert {a for a, n in received.items() if n > 1} <= doubtful
    assert max(received.values()) <= 2
