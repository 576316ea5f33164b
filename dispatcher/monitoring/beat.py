"""The beat's last tick: the reconcile task writes the time of each run it completes.

Everything in a send after its start depends on the reconciler (scheduled
starts, retries, recovery after a crash), so "seconds since the last tick" is
the one figure that says the beat and at least one worker are alive together.
"""

from __future__ import annotations

import redis

from dispatcher.monitoring import keys

#: The tick is rewritten every few seconds; the expiry only stops keys of runs that
#: are gone (a test's prefix, a renamed deployment) from staying in Redis for ever.
KEEP_SECONDS = 86_400


def record_tick(client: redis.Redis, prefix: str, now: float) -> None:
    client.set(prefix + keys.BEAT_TICK, repr(now), ex=KEEP_SECONDS)


def last_tick(client: redis.Redis, prefix: str) -> float | None:
    """Epoch seconds of the last completed reconcile run, or None if there was none."""
    raw = client.get(prefix + keys.BEAT_TICK)
    try:
        return None if raw is None else float(raw)
    except ValueError:
        return None
