"""Queue figures as RabbitMQ keeps them: ready messages over AMQP, unacknowledged over HTTP.

A passive ``queue.declare`` answers with the messages *ready* in a queue (and its
consumers) without creating or changing anything, in one round trip, with the
credentials the workers already use. Messages delivered to a worker and not yet
acknowledged are not in that answer: only the management plugin's HTTP API
counts them (``rabbitmq-plugins enable rabbitmq_management``). It is asked on the
broker's host at the plugin's default port, :data:`MANAGEMENT_PORT`, with the
broker URL's user, password and vhost; where it does not answer (the plugin off,
another port, a user without the ``management`` tag) ``unacked`` is unknown
(None) rather than guessed. RabbitMQ refreshes these statistics every 5 s, so the
figure may lag that much. With ``acks_late`` and a prefetch of one it is about one
running batch per busy pool process, which the workers' heartbeats also show.
"""

from __future__ import annotations

import base64
import contextlib
import json
import urllib.error
import urllib.request
from collections.abc import Sequence
from typing import Any
from urllib.parse import quote, unquote, urlsplit

from dispatcher.errors import BrokerUnavailableError

#: Seconds to connect and to wait for each answer: a page must not hang on the broker.
TIMEOUT_SECONDS = 2.0
#: The management plugin's HTTP port, on the broker's host (RabbitMQ's default).
MANAGEMENT_PORT = 15672
#: The broker's host is asked directly, never through an http_proxy of the environment.
_DIRECT = urllib.request.build_opener(urllib.request.ProxyHandler({}))


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


def unacked(broker_url: str, queues: Sequence[str]) -> int | None:
    """Messages delivered to workers and not yet acknowledged, over ``queues``.

    :returns: the sum (a queue not declared yet counts 0), or None when the management
        API does not answer or refuses the broker's user
    """
    parts = urlsplit(broker_url)
    vhost = unquote(parts.path[1:]) or "/"
    user, password = unquote(parts.username or "guest"), unquote(parts.password or "guest")
    host = parts.hostname or "localhost"
    host = f"[{host}]" if ":" in host else host
    login = base64.b64encode(f"{user}:{password}".encode()).decode()
    api = f"http://{host}:{MANAGEMENT_PORT}/api/queues/{quote(vhost, safe='')}"
    total = 0
    for queue in queues:
        request = urllib.request.Request(
            f"{api}/{quote(queue, safe='')}", headers={"Authorization": f"Basic {login}"}
        )
        try:
            with _DIRECT.open(request, timeout=TIMEOUT_SECONDS) as answer:
                total += int(json.load(answer).get("messages_unacknowledged") or 0)
        except urllib.error.HTTPError as exc:
            if exc.code != 404:  # 404: the queue is not declared yet
                return None
        except (OSError, ValueError):
            return None
    return total
