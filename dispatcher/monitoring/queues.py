"""Queue depth as the Celery Redis transport keeps it: one list per queue and priority.

``LLEN`` over those lists counts messages waiting for a worker; the ``unacked``
hash counts messages a worker took and has not acknowledged yet (with
``acks_late``, the batches being run plus each process's prefetched one).
"""

from __future__ import annotations

from collections.abc import Sequence

import redis

from dispatcher.monitoring import keys


def queue_depths(client: redis.Redis, prefix: str, queues: Sequence[str]) -> dict[str, int]:
    """Messages waiting per queue, all priority steps summed."""
    with client.pipeline(transaction=False) as pipe:
        for queue in queues:
            for name in keys.queue_keys(prefix, queue):
                pipe.llen(name)
        lengths = pipe.execute()
    steps = 1 + len(keys.PRIORITY_STEPS)
    return {
        queue: sum(int(n) for n in lengths[i * steps : (i + 1) * steps])
        for i, queue in enumerate(queues)
    }


def unacked(client: redis.Redis, prefix: str) -> int:
    return int(client.hlen(prefix + keys.UNACKED))
