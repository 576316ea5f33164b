"""RabbitMQ's unacknowledged messages, as the console, `dispatcher status` and /metrics read them.

A node of the test's own with the management plugin (``tests.support.rabbit_management``)
and a real worker with one pool process: while it runs a batch, RabbitMQ holds that
batch's message as delivered and not acknowledged (``acks_late``), and the figures say 1;
once the send is over, 0. The machine's node, without the plugin, is said unknown (see
``tests/flows/test_monitoring_without_redis.py``).
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from sqlalchemy.orm import Session, sessionmaker

from dispatcher.config import Settings
from dispatcher.monitoring.system import SystemFigures, with_rabbit_queues
from dispatcher.worker.tasks import enqueue_batch
from tests.smtpd import SmtpServer
from tests.support.rabbit_management import rabbit_with_management
from tests.support.sending import (
    assert_finished,
    quick_policy,
    start_example_send,
    wait_until,
)
from tests.support.worker import WorkerProcess

pytestmark = [pytest.mark.integration, pytest.mark.slow]


def unacked(settings: Settings) -> int | None:
    return with_rabbit_queues(SystemFigures(available=True), settings.broker_url).unacked


def test_a_running_batch_is_counted_unacknowledged_until_the_send_is_over(
    enqueuing_settings: Callable[..., Settings],
    pg_sessions: sessionmaker[Session],
    tmp_path: Path,
) -> None:
    with SmtpServer(pipelining=True, keep_data=False) as smtpd, rabbit_with_management() as url:
        smtpd.delay("dot", 0.02, times=100_000)  # a batch of 50 takes a second or more
        settings = enqueuing_settings(
            smtp_url=smtpd.url, broker_url=url, sending=quick_policy(batch_size=50)
        )
        with WorkerProcess(settings, tmp_path, concurrency=1, beat=False) as worker:
            send_id = start_example_send(pg_sessions, settings, 500, 50, enqueue_batch)
            # RabbitMQ refreshes its statistics every 5 s: the figure may lag that much.
            assert wait_until(lambda: unacked(settings) == 1, 30), worker.log()
            assert_finished(pg_sessions, send_id, worker, timeout=120)
            assert wait_until(lambda: unacked(settings) == 0, 30), worker.log()
