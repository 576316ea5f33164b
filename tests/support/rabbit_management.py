"""A RabbitMQ node of the test's own with the management plugin, for the unacked figure.

The machine's RabbitMQ is shared and runs without the management plugin; turning
it on there would change a service other runs use. This node has it, listening
where the dispatcher looks for it: the broker's host at port 15672. The host is a
loopback address of the run's own (127.x.y.z, every one of them reaches this
machine), so the port is never another node's.
"""

from __future__ import annotations

import random
import shutil
from collections.abc import Iterator
from contextlib import contextmanager

from dispatcher.monitoring.rabbit import MANAGEMENT_PORT
from tests.support.private_rabbit import PrivateRabbit


@contextmanager
def rabbit_with_management() -> Iterator[str]:
    """Start the node; :returns: (yields) its AMQP URL, on its own loopback address."""
    address = f"127.{random.randint(1, 254)}.{random.randint(1, 254)}.{random.randint(2, 254)}"
    node = PrivateRabbit()
    (node.root / "plugins").write_text("[rabbitmq_management].\n")
    # The node reads RABBITMQ_CONFIG_FILE=<root>/none as <root>/none.conf (new-style format).
    config = node.root / "none.conf"
    config.write_text(f"management.tcp.ip = {address}\nmanagement.tcp.port = {MANAGEMENT_PORT}\n")
    shutil.chown(config, "rabbitmq", "rabbitmq")
    node.start()
    try:
        yield f"amqp://guest:guest@{address}:{node.port}//"
    finally:
        node.kill()
        shutil.rmtree(node.root, ignore_errors=True)
