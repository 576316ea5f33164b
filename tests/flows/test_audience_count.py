"""The count a confirmation shows is the ledger that the send then writes.

Dirty, random audiences: people on one list or both, confirmed, pending or gone,
some suppressed, a first send where some were refused, some deferred and some in
doubt; then, for each kind of send the desk starts (again to both lists, late,
correction), :func:`audience.count_audience` must equal the ``queued`` rows the
send writes when it starts.
"""

from __future__ import annotations

import random
from collections.abc import Callable

import pytest
from sqlalchemy import update
from sqlalchemy.orm import Session, sessionmaker

from dispatcher.models import Delivery
from dispatcher.office.edition_store import add_edition
from dispatcher.sends import audience, control, ledger, progress, reconcile
from dispatcher.sends.runtime import Runtime
from dispatcher.transport.memory import MemoryTransport
from subscribers.models import MailingList
from subscribers.orm import utcnow
from subscribers.service import create_list
from subscribers.suppression import SuppressionReason, suppress
from tests.support.data import EDITION_FILE, add_readers_and_edition, add_subscribers, address
from tests.support.sending import drain


def _queued_after_start(session: Session, send_id: int) -> int:
    ledger.start_send(session, send_id, utcnow(), 50)
    return progress.send_counts(session, send_id)["queued"]


def _dirty_office(session: Session, runtime: Runtime, rng: random.Random) -> tuple[int, int, int]:
    edition_id = add_readers_and_edition(session, runtime.settings, 0)
    cronache = session.query(MailingList).filter_by(slug="cronache").one().id
    eventi = create_list(session, "eventi", "Eventi").id
    statuses = ("confirmed", "confirmed", "confirmed", "pending", "unsubscribed")
    for index in range(60):
        first = rng.choice((cronache, eventi))
        add_subscribers(session, first, 1, start=index, status=rng.choice(statuses))
        if rng.random() < 0.4:
            other = eventi if first == cronache else cronache
            add_subscribers_again(session, index, other, rng.choice(statuses))
        if rng.random() < 0.1:
            suppress(session, runtime.settings.all_secret_keys, address(index),
                     SuppressionReason.MANUAL)  # fmt: skip
    return edition_id, cronache, eventi


def add_subscribers_again(session: Session, index: int, list_id: int, status: str) -> None:
    """Put the existing person ``address(index)`` on another list too."""
    from subscribers.models import Subscriber, Subscription

    person = session.query(Subscriber).filter_by(email=address(index)).one()
    session.add(Subscription(list_id=list_id, subscriber_id=person.id, status=status,
                             source="import"))  # fmt: skip
    session.flush()


@pytest.mark.parametrize("seed", [1, 2, 3, 4])
def test_the_count_shown_is_the_ledger_written(
    seed: int,
    make_runtime: Callable[..., Runtime],
    memory: MemoryTransport,
    pg_sessions: sessionmaker[Session],
) -> None:
    rng = random.Random(seed)
    runtime = make_runtime()
    with pg_sessions.begin() as session:
        edition_id, cronache, eventi = _dirty_office(session, runtime, rng)
        replies = {}
        for index in range(60):
            replies[index] = rng.choice(
                [(250, "ok")] * 5 + [(550, "5.1.1 no"), (451, "4.2.2 full")]
            )
        count = audience.count_audience(session, edition_id, [cronache])
        send = ledger.create_send(session, edition_id, ["cronache"], utcnow())
        assert _queued_after_start(session, send.id) == count
        first_id = send.id
    memory.responder = lambda m: replies[m.delivery_id % 60]
    with pg_sessions.begin() as session:
        batch_ids = reconcile.take_pending(session, first_id, 100, utcnow())
    drain(runtime, batch_ids)
    with pg_sessions.begin() as session:  # some of those the relay never answered: in doubt
        session.execute(update(Delivery).where(Delivery.status == "failed", Delivery.id % 3 == 0)
                        .values(in_doubt=True))  # fmt: skip
        add_subscribers(session, cronache, 5, start=100)
        correcting = add_edition(
            session,
            EDITION_FILE.read_text(encoding="utf-8").replace("number: 44", "number: 45", 1),
            "45.md",
            runtime.settings,
        ).id
    for kind in ("again", "late", "correction"):
        with pg_sessions() as session, session.begin():
            if kind == "again":
                count = audience.count_audience(session, edition_id, [cronache, eventi])
                new = ledger.create_send(session, edition_id, ["cronache", "eventi"], utcnow(),
                                         again=True)  # fmt: skip
            elif kind == "late":
                count = audience.count_audience(session, edition_id, [cronache], audience.KIND_LATE)
                new = control.create_late_send(session, first_id, utcnow())
            else:
                count = audience.count_audience(
                    session, correcting, [cronache], audience.KIND_CORRECTION, edition_id
                )
                new = control.create_correction(session, first_id, correcting, utcnow())
            assert _queued_after_start(session, new.id) == count, kind
            session.rollback()
