"""Several worker hosts, for real: one lost outright, one cut off from the network.

Three machines on this one (``tests.support.hosts``): network namespaces on a
bridge, each with its own hostname; PostgreSQL, Redis and the relay (a sink that
writes down every recipient it accepts) in the main namespace. ``ops`` runs the
beat; ``w1`` and ``w2`` run a prefork pool each, with their own journal folders.
One send of 20,000 goes through them, and at a random moment in the middle:

- ``w2`` is lost outright: every process on it SIGKILLed, its journal folder
  deleted, so the outcomes it had journalled and not yet folded are gone;
- or ``w2`` is cut off from everything (PostgreSQL, Redis, the relay) for 30 s,
  its cable pulled, and then comes back, its connections stalled, not reset.

Either way the send finishes with every row sent, the relay got every recipient
at least once, and a second copy went only to rows the ledger flags in doubt:
at most ``FOLD_EVERY`` (100) per claim the host held, as the README promises.
"""

from __future__ import annotations

import random
import time
from collections import Counter

import pytest
from sqlalchemy import select

from dispatcher.models import Delivery
from dispatcher.sends.journal import FOLD_EVERY
from dispatcher.worker.tasks import enqueue_batch
from subscribers.models import Subscriber
from tests.hosts.conftest import CONCURRENCY, Cluster
from tests.support.recording_sink import accepted_count, received
from tests.support.sending import ledger_rows, start_example_send, wait_finished, wait_until

pytestmark = [pytest.mark.integration, pytest.mark.slow]

READERS = 20_000
CUT_SECONDS = 30


def start_and_wait_for_the_middle(cluster: Cluster, share: tuple[float, float]) -> int:
    """Start the send; return once the relay got a random share of it and w2 holds a claim.

    :param share: the least and the most of the send the relay may have got by then
    """
    send_id = start_example_send(cluster.sessions, cluster.settings, READERS, 500, enqueue_batch)
    mark = int(READERS * random.uniform(*share))
    assert wait_until(lambda: accepted_count(cluster.sink_file) >= mark, 180), cluster.logs()
    assert wait_until(lambda: holds_a_claim(cluster, "w2"), 60, 0.01), cluster.logs()
    return send_id


def claims_of(cluster: Cluster, host: str) -> set[str]:
    """The claims a process of ``host`` holds right now (claim owners start with the host)."""
    with cluster.sessions() as session:
        owners = session.scalars(
            select(Delivery.owner)
            .where(Delivery.status == "sending", Delivery.owner.like(f"{host}:%"))
            .distinct()
        )
        return {owner for owner in owners if owner}


def holds_a_claim(cluster: Cluster, host: str) -> bool:
    return bool(claims_of(cluster, host))


def assert_finished_with_nobody_lost(cluster: Cluster, send_id: int) -> None:
    """Every row sent, every recipient received; second copies only of rows in doubt.

    The host had ``CONCURRENCY`` pool processes, each holding one claim at a time:
    at most that many claims were taken back, each with at most ``FOLD_EVERY`` rows
    in doubt.
    """
    assert wait_finished(cluster.sessions, send_id, 300) == "finished", cluster.logs()
    rows = ledger_rows(cluster.sessions, send_id)
    assert Counter(row.status for row in rows) == Counter({"sent": READERS})
    with cluster.sessions() as session:
        emails = dict(session.execute(select(Subscriber.id, Subscriber.email)).all())
    copies = received(cluster.sink_file)
    assert set(copies) == {emails[row.subscriber_id] for row in rows}
    doubtful = {emails[row.subscriber_id] for row in rows if row.in_doubt}
    twice = {address for address, count in copies.items() if count > 1}
    assert twice <= doubtful and max(copies.values()) <= 2
    assert len(doubtful) <= FOLD_EVERY * CONCURRENCY
    print(f"in doubt: {len(doubtful)}, received twice: {len(twice)}")


def test_a_worker_host_lost_outright_mid_send(cluster: Cluster) -> None:
    send_id = start_and_wait_for_the_middle(cluster, (0.1, 0.6))
    cluster.network.lose(cluster.hosts["w2"])
    assert_finished_with_nobody_lost(cluster, send_id)


def test_a_worker_host_cut_off_for_thirty_seconds(cluster: Cluster) -> None:
    send_id = start_and_wait_for_the_middle(cluster, (0.1, 0.6))
    w2 = cluster.hosts["w2"]
    cluster.network.cut(w2)
    # While w2 is away the relay slows down, so that however fast this machine is, w1
    # alone is still sending when w2 comes back (its stalled connections resume only at
    # their next TCP retransmission, up to half a minute after the cable is back).
    cluster.services.slow_relay(True)
    time.sleep(1)  # what reached PostgreSQL before the cut is in the ledger now
    before = claims_of(cluster, "w2")
    time.sleep(CUT_SECONDS - 1)
    cluster.network.mend(w2)
    # Back on the network, w2 takes work again: a claim it did not hold before the cut.
    assert wait_until(lambda: bool(claims_of(cluster, "w2") - before), 120, 0.05), cluster.logs()
    cluster.services.slow_relay(False)
    assert_finished_with_nobody_lost(cluster, send_id)
