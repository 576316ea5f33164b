"""Queue depth as RabbitMQ keeps it, read through the broker's own AMQP connection.

A passive ``queue.declare`` answers with the messages *ready* in a queue (and its
consumers) without creating or changing anything, in one round trip, with the
credentials the workers already use. Messages delivered to a worker and not yet
acknowledged are not in that answer: only the management plugin's HTTP API
counts them, and it may be off, on another port, behind other credentials. So
``unacked`` is reported as unknown (None) rather than guessed; the workers'
heartbeats say how many batches are running, which is what it would mostly show
(``acks_late`` with a prefetch of one: one running batch and at most one waiting
per pool process).
"""

from __future__ import annotations

import contextlib
from collections.abc import Sequence
from typing import Any

from dispatcher.errors import BrokerUnavailableError

#: Seconds to connect and to wait for each answer: a page must not hang on the broker.
TIMEOUT_SECONDS = 2.0


def is_amqp(broker_url: str) -> bool:
    """True for the URLs kombu's py-amqp transport serves (RabbitMQ)."""
    return broker_url.split("://", 1)[0] in {"amqp", "amqps", "pyamqp"}


def queue_depths(broker_url: str, queues: Sequence[str]) -> dict[str, int]:
    """Messages ready per queue; a queue not declared yet (no worker ever started) counts 0.

    :raises BrokerUnavailableError: RabbitMQ did not answer, or refused the login
    """
    # kombu and py-amqp are imported here: `dispatcher status` on Redis or the demo
    # must not load Celery's stack (a test checks what it imports).
    import amqp
    import kombu.exceptions
    from kombu.connection import Connection

    errors = (amqp.exceptions.AMQPError, kombu.exceptions.OperationalError, OSError)
    try:
        with Connection(  # type: ignore[no-untyped-call]
            broker_url, connect_timeout=TIMEOUT_SECONDS, transport_options={"max_retries": 0}
        ) as connection:
            connection.ensure_connection(max_retries=1, timeout=TIMEOUT_SECONDS)
            return {queue: _ready(connection, queue, amqp.exceptions.NotFound) for queue in queues}
    except errors as exc:
        raise BrokerUnavailableError(str(exc) or type(exc).__name__) from exc


def _ready(connection: Any, queue: str, not_found: type[Exception]) -> int:
    # A fresh channel per queue: a passive declare of a missing queue closes its channel.
    channel = connection.channel()
    try:
        ok = channel.queue_declare(queue=queue, passive=True)
    except not_found:
        return 0
    finally:
        # A channel the broker's 404 already closed may refuse to close again.
        with contextlib.suppress(Exception):
            channel.close()
    return int(ok.message_count)
