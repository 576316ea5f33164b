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

from collections.abc import Sequence

import amqp
import kombu.exceptions
from kombu.connection import Connection

#: Seconds to connect and to wait for each answer: a page must not hang on the broker.
TIMEOUT_SECONDS = 2.0
#: What the broker or the network can raise while we ask (all logged by the caller).
RABBIT_ERRORS: tuple[type[BaseException], ...] = (
    amqp.exceptions.AMQPError,
    kombu.exceptions.OperationalError,
    ConnectionError,
    OSError,
    TimeoutError,
)


def is_amqp(broker_url: str) -> bool:
    """True for the URLs kombu's py-amqp transport serves (RabbitMQ)."""
    return broker_url.split("://", 1)[0] in {"amqp", "amqps", "pyamqp"}


def queue_depths(broker_url: str, queues: Sequence[str]) -> dict[str, int]:
    """Messages ready per queue; a queue not declared yet (no worker ever started) counts 0."""
    depths: dict[str, int] = {}
    with Connection(  # type: ignore[no-untyped-call]
        broker_url, connect_timeout=TIMEOUT_SECONDS, transport_options={"max_retries": 0}
    ) as connection:
        connection.ensure_connection(max_retries=1, timeout=TIMEOUT_SECONDS)
        for queue in queues:
            depths[queue] = _ready(connection, queue)
    return depths


def _ready(connection: Connection, queue: str) -> int:
    # A fresh channel per queue: a passive declare of a missing queue closes its channel.
    channel = connection.channel()  # type: ignore[no-untyped-call]
    try:
        ok = channel.queue_declare(queue=queue, passive=True)
    except amqp.exceptions.NotFound:
        return 0
    finally:
        try:
            channel.close()
        except RABBIT_ERRORS:
            pass  # already closed by the broker's 404
    return int(ok.message_count)
