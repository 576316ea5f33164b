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
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from sqlalchemy.orm import Session, sessionmaker

from dispatcher.config import Settings
from tests.smtpd import SmtpServer
from tests.support.private_rabbit import private_rabbit
from tests.support.sending import (
    RECOVERY,
    assert_nobody_lost,
    send_through_a_lost_broker,
)

pytestmark = [pytest.mark.integration, pytest.mark.slow]

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
    with private_rabbit() as rabbit:
        settings = enqueuing_settings(smtp_url=smtpd.url, sending=RECOVERY, broker_url=rabbit.url)

        def lose_and_restart() -> None:
            rabbit.kill()
            time.sleep(3)
            rabbit.start()  # the same data: the durable queue and its messages

        send_id = send_through_a_lost_broker(
            settings, pg_sessions, smtpd, tmp_path, lose_and_restart, READERS
        )
    assert_nobody_lost(pg_sessions, smtpd, send_id, READERS, crashes=1)
