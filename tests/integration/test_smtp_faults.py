"""A send of thousands through a relay that misbehaves in every way a real one does.

4xx at RCPT, DATA and the final dot, 5xx, the connection dropped in the middle
of DATA, answers slower than the client's timeout in each phase, 421 at
connect. At the end every deliverable recipient has its copy, every permanent
failure its reply, and no row is left queued, sending or deferred.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from dispatcher.config import Settings, SmtpSettings
from dispatcher.worker.tasks import enqueue_batch
from subscribers.models import Subscriber
from tests.smtpd import Delay, SmtpServer
from tests.support.data import (
    address,
)
from tests.support.sending import (
    assert_finished,
    ledger_rows,
    quick_policy,
    start_example_send,
)
from tests.support.worker import WorkerProcess

pytestmark = [pytest.mark.integration, pytest.mark.slow]

COUNT = 3000
RETRYING = quick_policy(
    batch_size=250,
    lease_seconds=20,
    redispatch_after=20,
    retry_base=0.5,
    retry_window=8,  # 451 forever fails as expired after a handful of attempts
)
TIMEOUTS = SmtpSettings(connect_timeout=2, command_timeout=1, data_timeout=5, final_timeout=1)

# address index -> what the relay does to it; spread over the list, so that no window
# of recent outcomes looks like a broken relay (which would pause the send).
GREYLISTED = range(0, COUNT, 75)  # 451 at RCPT once (40)
REFUSED = range(1, COUNT, 100)  # 550 at RCPT (30)
DATA_LATER = range(2, COUNT, 150)  # 451 at DATA once (20)
REJECTED_AT_DOT = range(3, COUNT, 200)  # 554 after the final dot (15)
DROPPED = range(4, COUNT, 200)  # connection lost in the middle of the content, once (15)
ALWAYS_LATER = range(5, COUNT, 375)  # 451 at every attempt: expires (8)
SLOW_RCPT = range(6, COUNT, 600)  # RCPT answered after the command timeout, once (5)
SLOW_DOT = range(7, COUNT, 600)  # the verdict comes after the final timeout, once (5)


@pytest.fixture
def relay() -> Iterator[SmtpServer]:
    with SmtpServer(pipelining=True, keep_data=False) as server:
        for i in GREYLISTED:
            server.fail_rcpt(address(i), [(451, "4.7.1 Greylisted, please try again")])
        for i in REFUSED:
            server.fail_rcpt(address(i), [(550, f"5.1.1 <{address(i)}>: Recipient unknown")])
        for i in DATA_LATER:
            server.fail_data(address(i), [(451, "4.3.0 Temporary failure, try later")])
        for i in REJECTED_AT_DOT:
            server.fail_dot(address(i), [(554, "5.7.1 Message rejected as spam")])
        for i in DROPPED:
            server.drop("content", address(i))
        for i in ALWAYS_LATER:
            server.fail_rcpt(address(i), [(451, "4.2.1 Mailbox busy")] * 50)
        for i in SLOW_RCPT:
            server.plan("rcpt", address(i), [Delay(1.5)])
        for i in SLOW_DOT:
            server.plan("dot", address(i), [Delay(1.5)])
        server.refuse_connections(421, times=3)
        yield server


def test_every_fault_ends_in_the_right_state_and_nobody_is_lost(
    enqueuing_settings: Callable[..., Settings],
    pg_sessions: sessionmaker[Session],
    relay: SmtpServer,
    tmp_path: Path,
) -> None:
    smtp = SmtpSettings(url=relay.url, **{k: getattr(TIMEOUTS, k) for k in (
        "connect_timeout", "command_timeout", "data_timeout", "final_timeout")})  # fmt: skip
    settings = enqueuing_settings(sending=RETRYING, smtp=smtp)
    with WorkerProcess(settings, tmp_path, concurrency=2) as worker:
        send_id = start_example_send(pg_sessions, settings, COUNT, 250, enqueue_batch)
        assert_finished(pg_sessions, send_id, worker, timeout=240)

    rows = {row.subscriber_id: row for row in ledger_rows(pg_sessions, send_id)}
    with pg_sessions() as session:
        index = {
            sid: int(e[6:12]) for sid, e in session.execute(select(Subscriber.id, Subscriber.email))
        }
    by_index = {index[sid]: row for sid, row in rows.items()}
    received = Counter(rcpt for m in relay.accepted for rcpt in m.rcpt_tos)

    permanent = {*REFUSED, *REJECTED_AT_DOT}
    for i in permanent:
        assert by_index[i].status == "failed", i
        assert by_index[i].smtp_code in (550, 554) and by_index[i].smtp_reply
    assert all(by_index[i].smtp_reply.startswith("expired") for i in ALWAYS_LATER)  # type: ignore[union-attr]
    undeliverable = permanent | set(ALWAYS_LATER)
    for i, row in by_index.items():
        if i in undeliverable:
            assert received[address(i)] == 0
            continue
        assert row.status == "sent", (i, row.status, row.smtp_reply)
        copies = received[address(i)]
        assert copies == 1 or (copies == 2 and row.in_doubt), (i, copies)
    for i in (*GREYLISTED, *DATA_LATER, *DROPPED, *SLOW_RCPT):
        assert by_index[i].attempts >= 2
    assert all(by_index[i].in_doubt for i in SLOW_DOT)
    statuses = Counter(row.status for row in rows.values())
    assert statuses["sent"] == COUNT - len(undeliverable)
    assert not {"queued", "sending", "deferred"} & set(statuses)
