"""Sends through the real ledger (PostgreSQL) with the in-memory transport.

The batch function is called directly, as the task would call it, so each rule
of the ledger is checked without a broker: who is skipped, what is retried,
what a relay outage costs, what a second send of an edition reaches.
"""

from __future__ import annotations

import datetime as dt
from collections import Counter
from collections.abc import Callable
from pathlib import Path

import dkim as dkimpy
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ed25519
from sqlalchemy import delete, select, update
from sqlalchemy.orm import Session, sessionmaker

from dispatcher.config import DkimSettings, SendingSettings, Settings
from dispatcher.errors import RelayUnavailableError, StateError
from dispatcher.message import dkim
from dispatcher.message.outgoing import OutgoingMessage
from dispatcher.models import Batch, Delivery, Send
from dispatcher.sends import reconcile, status
from dispatcher.sends.batch import run_batch
from dispatcher.sends.runtime import Runtime
from dispatcher.transport.memory import MemoryTransport
from subscribers.models import Subscriber, Subscription, Suppression
from subscribers.orm import utcnow
from subscribers.service import create_list
from tests.support.data import add_subscribers, address, subscriber_id, unsubscribe
from tests.support.sending import drain, edition_for, ledger_rows, start_send

POLICY = SendingSettings(batch_size=10, dispatch_window=100, retry_base=60, lease_seconds=30)


@pytest.fixture
def runtime(make_runtime: Callable[..., Runtime]) -> Runtime:
    return make_runtime(sending=POLICY)


def _send(runtime: Runtime, edition_id: int, *lists: str, again: bool = False) -> list[int]:
    """Start a send; returns the batch ids it enqueued (nothing is really enqueued)."""
    enqueued: list[int] = []
    start_send(
        runtime.sessions, edition_id, lists or ("cronache",), 100, 10, enqueued.append, again
    )
    return enqueued


def _send_state(sessions: sessionmaker[Session], send_id: int = 1) -> str:
    with sessions() as session:
        return session.get_one(Send, send_id).state


def test_everyone_gets_one_message_and_the_send_finishes(
    runtime: Runtime, memory: MemoryTransport
) -> None:
    drain(runtime, _send(runtime, edition_for(runtime, 25)))
    assert sorted(m.recipient for m in memory.sent) == sorted(address(i) for i in range(25))
    assert {r.status for r in ledger_rows(runtime.sessions, 1)} == {"sent"}
    assert _send_state(runtime.sessions) == "finished"


def _delete(session: Session, subscriber: int) -> None:
    session.execute(delete(Subscriber).where(Subscriber.id == subscriber))


# A person deleted by hand: the ledger holds no foreign key to subscribers (see migration
# 0006), and a row whose person is gone must still end, not come back to the queue at
# every claim.
@pytest.mark.parametrize(
    ("index", "leave"), [(7, unsubscribe), (12, _delete)], ids=["unsubscribed", "deleted"]
)
def test_a_person_gone_after_the_start_is_skipped_and_the_send_finishes(
    runtime: Runtime, memory: MemoryTransport, index: int, leave: Callable[[Session, int], None]
) -> None:
    batches = _send(runtime, edition_for(runtime, 20))
    with runtime.sessions.begin() as session:
        gone = subscriber_id(session, index)
        leave(session, gone)
    drain(runtime, batches)
    assert sorted(m.recipient for m in memory.sent) == sorted(
        address(i) for i in range(20) if i != index
    )
    rows = ledger_rows(runtime.sessions, 1)
    assert [(r.subscriber_id, r.status) for r in rows if r.status != "sent"] == [(gone, "skipped")]
    assert _send_state(runtime.sessions) == "finished"


def test_suppressed_addresses_are_skipped_when_the_ledger_is_written(runtime: Runtime) -> None:
    edition_id = edition_for(runtime, 5)
    with runtime.sessions.begin() as session:
        suppressed = subscriber_id(session, 1)
        session.add(Suppression(email_hmac="x" * 64, subscriber_id=suppressed, reason="bounce"))
    _send(runtime, edition_id)
    rows = {r.subscriber_id: r for r in ledger_rows(runtime.sessions, 1)}
    assert rows[suppressed].status == "skipped"
    assert "suppression" in (rows[suppressed].smtp_reply or "")


def test_a_person_on_two_lists_of_one_send_gets_one_copy(
    runtime: Runtime, memory: MemoryTransport
) -> None:
    edition_id = edition_for(runtime, 10)
    with runtime.sessions.begin() as session:
        press = create_list(session, "giornalisti", "Giornalisti")
        ids = session.scalars(select(Subscriber.id).order_by(Subscriber.id).limit(4)).all()
        session.add_all(
            Subscription(list_id=press.id, subscriber_id=i, status="confirmed") for i in ids
        )
        add_subscribers(session, press.id, 3, start=100)
    drain(runtime, _send(runtime, edition_id, "cronache", "giornalisti"))
    assert Counter(m.recipient for m in memory.sent) == Counter(
        {address(i): 1 for i in [*range(10), 100, 101, 102]}
    )


def test_sending_again_is_refused_and_with_again_reaches_only_newcomers(
    runtime: Runtime, memory: MemoryTransport
) -> None:
    edition_id = edition_for(runtime, 5)
    drain(runtime, _send(runtime, edition_id))
    with pytest.raises(StateError, match="already sent"):
        _send(runtime, edition_id)
    with runtime.sessions.begin() as session:
        add_subscribers(session, 1, 2, start=50)
    memory.sent.clear()
    drain(runtime, _send(runtime, edition_id, again=True))
    assert sorted(m.recipient for m in memory.sent) == [address(50), address(51)]


def test_a_4xx_defers_with_backoff_and_the_reconciler_retries_when_due(
    runtime: Runtime, memory: MemoryTransport
) -> None:
    memory.responder = lambda m: (451, "4.7.1 try later") if m.delivery_id == 3 else (250, "ok")
    drain(runtime, _send(runtime, edition_for(runtime, 5)))
    row = next(r for r in ledger_rows(runtime.sessions, 1) if r.id == 3)
    assert (row.status, row.attempts, row.smtp_code) == ("deferred", 1, 451)
    assert row.due_at is not None and row.due_at > utcnow() + dt.timedelta(seconds=50)
    assert _send_state(runtime.sessions) == "running"  # deferred rows keep it open

    memory.responder = lambda m: (250, "2.0.0 queued as X")
    later = utcnow() + dt.timedelta(seconds=61)
    runtime.clock = lambda: later
    with runtime.sessions.begin() as session:
        due = reconcile.reconcile(session, POLICY, later)
    drain(runtime, due.enqueue)
    row = next(r for r in ledger_rows(runtime.sessions, 1) if r.id == 3)
    assert (row.status, row.attempts) == ("sent", 2)
    assert _send_state(runtime.sessions) == "finished"


def test_a_deferred_row_fails_as_expired_past_the_retry_window(runtime: Runtime) -> None:
    short = SendingSettings(batch_size=10, retry_base=3600, retry_window=1800)
    runtime.settings = runtime.settings.with_overrides(sending=short)
    transport = runtime.transport
    assert isinstance(transport, MemoryTransport)
    transport.responder = lambda m: (452, "4.2.2 mailbox full")
    drain(runtime, _send(runtime, edition_for(runtime, 2)))
    rows = ledger_rows(runtime.sessions, 1)
    assert {r.status for r in rows} == {"failed"}
    assert all(r.smtp_reply.startswith("expired after 1 attempts") for r in rows)  # type: ignore[union-attr]


def test_a_5xx_fails_at_once_and_keeps_the_reply(runtime: Runtime, memory: MemoryTransport) -> None:
    memory.responder = lambda m: (550, "5.1.1 user unknown") if m.delivery_id == 2 else (250, "ok")
    drain(runtime, _send(runtime, edition_for(runtime, 3)))
    row = next(r for r in ledger_rows(runtime.sessions, 1) if r.id == 2)
    assert (row.status, row.smtp_code, row.smtp_reply) == ("failed", 550, "5.1.1 user unknown")
    assert _send_state(runtime.sessions) == "finished"


def test_failures_are_grouped_by_reply_whatever_address_each_reply_names(
    runtime: Runtime, memory: MemoryTransport
) -> None:
    # Each refusal names its own address, as Postfix's do: 240 distinct replies
    # that are one failure, and one temporary failure beside them.
    def responder(message: OutgoingMessage) -> tuple[int, str]:
        if message.delivery_id == 241:
            return 451, "4.7.1 try again later"
        if message.delivery_id <= 240:
            return 550, f"5.1.1 <{message.recipient}>: Recipient address rejected"
        return 250, "ok"

    memory.responder = responder
    drain(runtime, _send(runtime, edition_for(runtime, 250)))
    with runtime.sessions() as session:
        for sample in (None, 100):
            groups = status.failure_groups(session, 1, sample=sample)
            found = {(g.status, g.code, g.reply): g.count for g in groups}
            expected_failed = 240 if sample is None else 100  # a sample counts what it read
            assert found == {
                ("failed", 550, "5.1.1 <address>: Recipient address rejected"): expected_failed,
                ("deferred", 451, "4.7.1 try again later"): 1,
            }


def test_a_relay_that_is_down_holds_the_send_without_spending_attempts(
    runtime: Runtime, memory: MemoryTransport
) -> None:
    memory.unavailable = RelayUnavailableError(0, "connection refused")
    batches = _send(runtime, edition_for(runtime, 5))
    drain(runtime, batches)
    rows = ledger_rows(runtime.sessions, 1)
    assert {(r.status, r.attempts) for r in rows} == {("queued", 0)}
    with runtime.sessions() as session:
        send = session.get_one(Send, 1)
        assert send.hold_until is not None and send.relay_failures == 1
        assert session.scalar(select(Batch.state)) == "pending"
        assert reconcile.take_pending(session, 1, 10, utcnow()) == []  # held back

    memory.unavailable = None
    after_hold = utcnow() + dt.timedelta(seconds=POLICY.relay_backoff_base + 1)
    runtime.clock = lambda: after_hold
    with runtime.sessions.begin() as session:
        resumed = reconcile.reconcile(session, POLICY, after_hold)
    drain(runtime, resumed.enqueue)
    assert {(r.status, r.attempts) for r in ledger_rows(runtime.sessions, 1)} == {("sent", 1)}


def test_a_message_that_cannot_be_built_fails_alone(
    runtime: Runtime, memory: MemoryTransport
) -> None:
    edition_id = edition_for(runtime, 4)
    with runtime.sessions.begin() as session:
        session.execute(
            update(Subscriber).where(Subscriber.email == address(2)).values(email="bad address@x")
        )
    drain(runtime, _send(runtime, edition_id))
    rows = {r.id: r for r in ledger_rows(runtime.sessions, 1)}
    assert rows[3].status == "failed" and "not a deliverable address" in (rows[3].smtp_reply or "")
    assert len(memory.sent) == 3


@pytest.mark.parametrize(("policy", "in_flight"), [("keep", "uncertain"), ("resend", "deferred")])
def test_a_dying_batch_makes_the_row_in_flight_uncertain_and_requeues_the_rest(
    runtime: Runtime, memory: MemoryTransport, policy: str, in_flight: str
) -> None:
    runtime.settings = runtime.settings.with_overrides(
        sending=SendingSettings(batch_size=10, uncertain_policy=policy)
    )
    batches = _send(runtime, edition_for(runtime, 6))

    def die_after_two(message: OutgoingMessage) -> tuple[int, str]:
        if message.delivery_id == 3:
            raise KeyboardInterrupt  # the worker dies while message 3 is in flight
        return 250, "ok"

    memory.responder = die_after_two
    with pytest.raises(KeyboardInterrupt):
        run_batch(runtime, batches[0], lambda _: None)
    rows = {r.id: r for r in ledger_rows(runtime.sessions, 1)}
    # The batch gave its rows back itself: 3 may have gone, 4..6 never did.
    statuses = {i: r.status for i, r in rows.items()}
    assert statuses == {1: "sent", 2: "sent", 3: in_flight, 4: "queued", 5: "queued", 6: "queued"}
    assert [i for i, r in rows.items() if r.in_doubt] == [3]


def test_a_batch_run_twice_sends_nothing_twice(runtime: Runtime, memory: MemoryTransport) -> None:
    batches = _send(runtime, edition_for(runtime, 8))
    run_batch(runtime, batches[0], lambda _: None)
    run_batch(runtime, batches[0], lambda _: None)
    assert len(memory.sent) == 8 and len({m.recipient for m in memory.sent}) == 8


def test_a_paused_send_stops_claiming(runtime: Runtime, memory: MemoryTransport) -> None:
    batches = _send(runtime, edition_for(runtime, 5))
    with runtime.sessions.begin() as session:
        session.execute(update(Send).values(state="paused"))
    drain(runtime, batches)
    assert memory.sent == []
    with runtime.sessions() as session:
        assert session.scalars(select(Delivery.status).distinct()).all() == ["queued"]


def test_with_dkim_configured_every_message_is_signed_and_verifies(
    make_settings: Callable[..., Settings],
    pg_url: str,
    pg_sessions: object,
    tmp_path: Path,
) -> None:
    key = ed25519.Ed25519PrivateKey.generate()
    pem = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    (tmp_path / "dkim.pem").write_bytes(pem)
    dkim_settings = DkimSettings("cittametropolitana.torino.it", "news", str(tmp_path / "dkim.pem"))
    memory = MemoryTransport()
    settings = make_settings(database_url=pg_url, sending=POLICY, dkim=dkim_settings)
    runtime = Runtime(settings, lambda: memory)
    drain(runtime, _send(runtime, edition_for(runtime, 3)))
    record = dkim.public_record(runtime.dkim_keys[0]).encode()
    assert len(memory.sent) == 3
    for message in memory.sent:
        assert dkimpy.verify(message.data, dnsfunc=lambda name, timeout=5: record)
    runtime.close()
