"""RabbitMQ for tests: a virtual host of the test's own on the machine's broker.

Each test that runs on RabbitMQ gets a fresh vhost (``rabbitmqctl add_vhost``),
so its queues, messages and consumers are nobody else's and nothing is left
behind: the vhost is deleted with everything in it afterwards.
"""

from __future__ import annotations

import os
import subprocess
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from urllib.parse import quote

RABBIT_HOST = os.environ.get("TEST_RABBIT_HOST", "127.0.0.1:5672")


def _ctl(*args: str) -> None:
    subprocess.run(["rabbitmqctl", "-q", *args], check=True, capture_output=True, timeout=60)


@contextmanager
def rabbit_vhost(run_id: str) -> Iterator[str]:
    """A new vhost for guest on the machine's RabbitMQ; yields its AMQP URL."""
    name = f"test-{run_id}-{uuid.uuid4().hex[:6]}"
    _ctl("add_vhost", name)
    try:
        _ctl("set_permissions", "-p", name, "guest", ".*", ".*", ".*")
        yield f"amqp://guest:guest@{RABBIT_HOST}/{quote(name, safe='')}"
    finally:
        _ctl("delete_vhost", name)
