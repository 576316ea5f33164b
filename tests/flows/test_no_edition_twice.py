"""Nobody receives an edition twice; a correction reaches everyone who received it.

Issue 12, items 3 and 4, through the real ledger (PostgreSQL) and the batch loop,
with the in-memory transport. "Received" is :data:`audience.RECEIVED_STATUSES`
(sent, uncertain, bounced, complained, or still on its way; failed only when in
doubt): a person with such a row in any send of the edition gets no other copy,
whatever list the new send goes to. The desk's path
(:func:`dispatcher.office.scheduling.schedule_send`) and the command line's are the
same one.
"""

from __future__ import annotations

import datetime as dt
from collections import Counter
from collections.abc import Callable, Iterator

import click
import pytest
from sqlalchemy import insert, select, update

from dispatcher.cli import sending
from dispatcher.cli.context import AppContext
from dispatcher.config import SendingSettings, Settings
from dispatcher.errors import StateError
from dispatcher.message.outgoing import OutgoingMessage
from dispatcher.models import Delivery, Send
from dispatcher.office import scheduling
from dispatcher.office.edition_store import add_edition, read_source
from dispatcher.sends import control, ledger, progress, reconcile
from dispatcher.sends.runtime import Runtime
from dispatcher.transport.memory import MemoryTransport
from subscribers.models import MailingList, Subscriber, Subscription
from subscribers.orm import utcnow
from tests.support.data import (
    EDITION_FILE,
    add_example_edition,
    add_subscribers,
    address,
    create_newsletter,
)
from tests.support.sending import drain, ledger_rows, start_send

POLICY = SendingSettings(batch_size=10, dispatch_window=100, retry_base=60, lease_seconds=30)


@pytest.fixture
def runtime(
    make_settings: Callable[..., Settings], pg_url: str, pg_sessions: object
) -> Iterator[Runtime]:
    """A worker's runtime in this process, on PostgreSQL, sending into memory."""
    transport = MemoryTransport()
    settings = make_settings(database_url=pg_url, sending=POLICY, require_approval=False)
    made = Runtime(settings, lambda: transport)
    yield made
    made.close()


@pytest.fixture
def memory(runtime: Runtime) -> MemoryTransport:
    """What the runtime sent."""
    transport = runtime.transport
    assert isinstance(transport, MemoryTransport)
    return transport


def _two_lists(runtime: Runtime, on_a: range, on_b: range) -> int:
    """List ``cronache`` (A) and ``altro`` (B) with readers by index; the edition's id."""
    with runtime.sessions.begin() as session:
        a, b = create_newsletter(session), create_newsletter(session, "altro")
        ids = add_subscribers(session, a.id, len(on_a), start=on_a.start)
        by_index = dict(zip(on_a, ids, strict=True))
        fresh = [i for i in on_b if i not in by_index]
        if fresh:
            added = add_subscribers(session, b.id, len(fresh), start=fresh[0])
            by_index |= dict(zip(fresh, added, strict=True))
        shared = [{"list_id": b.id, "subscriber_id": by_index[i], "status": "confirmed",
                   "source": "import"} for i in on_b if i in on_a]  # fmt: skip
        if shared:
            session.execute(insert(Subscription), shared)
        return add_example_edition(session, runtime.settings)


def _second_edition(runtime: Runtime) -> int:
    source = read_source(EDITION_FILE).replace("number: 44", "number: 45", 1)
    with runtime.sessions.begin() as session:
        return add_edition(session, source, "correzione.md", runtime.settings).id


def _send(runtime: Runtime, edition_id: int, *lists: str, again: bool = False) -> int:
    """Start a send as ``send --now`` does and deliver it to the end; its id."""
    queue: list[int] = []
    send_id = start_send(runtime.sessions, edition_id, lists, 100, 10, queue.append, again)
    drain(runtime, queue)
    return send_id


def _start(runtime: Runtime, send_id: int) -> None:
    with runtime.sessions.begin() as session:
        assert ledger.start_send(session, send_id, utcnow(), 10) is not None
        queue = reconcile.take_pending(session, send_id, 100, utcnow())
    drain(runtime, queue)


def _due_now(runtime: Runtime) -> None:
    """Make every deferred row due and let the reconciler dispatch them, as time would."""
    with runtime.sessions.begin() as session:
        session.execute(
            update(Delivery).where(Delivery.status == "deferred").values(due_at=utcnow())
        )
        queue = reconcile.reconcile(session, runtime.settings.sending, utcnow()).enqueue
    drain(runtime, queue)


def _received(memory: MemoryTransport) -> Counter[str]:
    return Counter(m.recipient for m in memory.sent)


def _refuse(*indexes: int, code: int = 550) -> Callable[[OutgoingMessage], tuple[int, str]]:
    refused = {address(i) for i in indexes}
    return lambda m: (code, f"{code} no") if m.recipient in refused else (250, "2.0.0 ok")


def _state(runtime: Runtime, send_id: int) -> str:
    with runtime.sessions() as session:
        return session.get_one(Send, send_id).state


def _rows(runtime: Runtime, send_id: int) -> dict[str, Delivery]:
    with runtime.sessions() as session:
        emails = {i: e for i, e in session.execute(select(Subscriber.id, Subscriber.email))}
    return {emails[row.subscriber_id]: row for row in ledger_rows(runtime.sessions, send_id)}


def _assert_counters_match_ledger(runtime: Runtime, send_id: int) -> None:
    with runtime.sessions() as session:
        counters = {k: v for k, v in progress.send_counts(session, send_id).items() if v}
    assert counters == dict(Counter(r.status for r in ledger_rows(runtime.sessions, send_id)))


# -- item 3: one copy per person, whatever the lists -------------------------------------------


def test_an_edition_to_one_list_then_another_reaches_the_people_on_both_once(
    runtime: Runtime, memory: MemoryTransport
) -> None:
    edition_id = _two_lists(runtime, range(10), range(5, 15))
    memory.responder = _refuse(6)  # refused for good: did not receive it
    _send(runtime, edition_id, "cronache")
    memory.responder = _refuse()
    second = _send(runtime, edition_id, "altro")  # B never had it: no --again needed

    assert _received(memory) == Counter({address(i): 1 for i in range(15)})
    assert sorted(_rows(runtime, second)) == [address(i) for i in (6, *range(10, 15))]


def test_people_whose_copy_may_have_arrived_or_is_on_its_way_are_not_sent_another(
    runtime: Runtime, memory: MemoryTransport
) -> None:
    edition_id = _two_lists(runtime, range(10), range(10))
    memory.responder = _refuse(1, 2, code=451)  # deferred: still on its way in send 1
    first = _send(runtime, edition_id, "cronache")
    rows = _rows(runtime, first)
    with runtime.sessions.begin() as session:
        # 3: no reply after the dot at some attempt, then expired; 4: refused for good.
        session.execute(
            update(Delivery)
            .where(Delivery.id == rows[address(3)].id)
            .values(status="failed", in_doubt=True, smtp_reply="expired after 5 attempts")
        )
        session.execute(
            update(Delivery)
            .where(Delivery.id == rows[address(4)].id)
            .values(status="failed", smtp_reply="550 5.1.1 unknown")
        )
    memory.sent.clear()
    memory.responder = _refuse()
    second = _send(runtime, edition_id, "altro")

    # Only the one refused for good: not the deferred (1, 2), nor the one in doubt (3).
    assert _received(memory) == Counter({address(4): 1})
    assert list(_rows(runtime, second)) == [address(4)]


def test_again_reaches_only_those_who_did_not_get_it(
    runtime: Runtime, memory: MemoryTransport
) -> None:
    edition_id = _two_lists(runtime, range(8), range(0))
    memory.responder = _refuse(2, 5)
    _send(runtime, edition_id, "cronache")
    with pytest.raises(StateError, match="--again"):
        _send(runtime, edition_id, "cronache")
    memory.sent.clear()
    memory.responder = _refuse()
    again = _send(runtime, edition_id, "cronache", again=True)

    assert _received(memory) == Counter({address(2): 1, address(5): 1})
    assert {row.status for row in _rows(runtime, again).values()} == {"sent"}


def test_the_desk_schedules_through_the_same_rule(
    runtime: Runtime, memory: MemoryTransport
) -> None:
    edition_id = _two_lists(runtime, range(6), range(3, 9))
    _send(runtime, edition_id, "cronache")
    memory.sent.clear()
    now = utcnow()
    with runtime.sessions.begin() as session:
        send = scheduling.schedule_send(
            session, edition_id, ["altro"], now, actor="anna", settings=runtime.settings, now=now
        )
        send_id = send.id
    _start(runtime, send_id)
    assert _received(memory) == Counter({address(i): 1 for i in range(6, 9)})


# -- item 4: corrections -----------------------------------------------------------------------


def test_a_correction_reaches_everyone_who_received_the_edition_through_any_send(
    runtime: Runtime, memory: MemoryTransport
) -> None:
    edition_id = _two_lists(runtime, range(6), range(4, 10))
    memory.responder = _refuse(1)
    original = _send(runtime, edition_id, "cronache")  # 0, 2..5 (1 refused)
    with runtime.sessions.begin() as session:
        cronache = session.scalar(select(MailingList.id).where(MailingList.slug == "cronache"))
        assert cronache is not None
        add_subscribers(session, cronache, 1, start=50)  # a late joiner
        late = control.create_late_send(session, original, utcnow(), "tester").id
    memory.responder = _refuse()
    _start(runtime, late)  # 50
    again = _send(runtime, edition_id, "cronache", again=True)  # 1
    other = _send(runtime, edition_id, "altro")  # 6..9
    assert len(ledger_rows(runtime.sessions, again)) == 1
    assert len(ledger_rows(runtime.sessions, other)) == 4
    memory.sent.clear()

    correcting = _second_edition(runtime)
    with runtime.sessions.begin() as session:
        fix = control.create_correction(session, original, correcting, utcnow(), "tester").id
    _start(runtime, fix)

    everyone = [*range(10), 50]
    assert _received(memory) == Counter({address(i): 1 for i in everyone})
    assert {row.status for row in _rows(runtime, fix).values()} == {"sent"}


def test_a_correction_while_the_original_has_deferred_rows_replaces_them(
    runtime: Runtime, memory: MemoryTransport
) -> None:
    edition_id = _two_lists(runtime, range(12), range(0))
    memory.responder = _refuse(3, 7, 11, code=451)
    original = _send(runtime, edition_id, "cronache")
    assert _state(runtime, original) == "running"  # three rows deferred
    memory.sent.clear()
    memory.responder = _refuse()

    correcting = _second_edition(runtime)
    with runtime.sessions.begin() as session:
        fix = control.create_correction(session, original, correcting, utcnow(), "tester").id
    _start(runtime, fix)
    _due_now(runtime)  # the original's retries would be due now: nothing is left of them

    assert _received(memory) == Counter({address(i): 1 for i in range(12)})
    assert all(m.delivery_id > 12 for m in memory.sent)  # the correction's rows, no original
    rows = _rows(runtime, original)
    superseded = {a for a, row in rows.items() if row.status == "skipped"}
    assert superseded == {address(3), address(7), address(11)}
    assert {rows[a].smtp_reply for a in superseded} == {
        f"not sent: superseded by correction send {fix}"
    }
    assert _state(runtime, original) == "finished"
    _assert_counters_match_ledger(runtime, original)
    _assert_counters_match_ledger(runtime, fix)


def test_a_row_in_flight_when_the_correction_starts_is_not_retried_afterwards(
    runtime: Runtime, memory: MemoryTransport
) -> None:
    edition_id = _two_lists(runtime, range(5), range(0))
    correcting = _second_edition(runtime)
    started: list[int] = []

    def respond(message: OutgoingMessage) -> tuple[int, str]:
        if message.recipient == address(2) and not started:
            # The office sends the correction while this message is at the relay.
            with runtime.sessions.begin() as session:
                fix = control.create_correction(session, 1, correcting, utcnow(), "tester")
                started.append(fix.id)
                ledger.start_send(session, fix.id, utcnow(), 10)
            return 451, "4.7.1 greylisted"
        return 250, "2.0.0 ok"

    memory.responder = respond
    _send(runtime, edition_id, "cronache")
    memory.responder = _refuse()
    with runtime.sessions.begin() as session:
        queue = reconcile.take_pending(session, started[0], 100, utcnow())
    drain(runtime, queue)
    original_sent = Counter(m.recipient for m in memory.sent if m.delivery_id <= 5)
    _due_now(runtime)

    assert Counter(m.recipient for m in memory.sent if m.delivery_id <= 5) == original_sent
    row = _rows(runtime, 1)[address(2)]
    assert (row.status, row.smtp_reply) == ("skipped", "not sent: superseded by a correction")
    assert _received(memory)[address(2)] == 1  # the correction only


def test_after_a_correction_neither_edition_goes_again_to_those_who_got_it(
    runtime: Runtime, memory: MemoryTransport
) -> None:
    edition_id = _two_lists(runtime, range(6), range(3, 9))
    memory.responder = _refuse(4, code=451)  # deferred: will get the correction instead
    original = _send(runtime, edition_id, "cronache")
    memory.responder = _refuse()
    correcting = _second_edition(runtime)
    with runtime.sessions.begin() as session:
        fix = control.create_correction(session, original, correcting, utcnow(), "tester").id
    _start(runtime, fix)
    memory.sent.clear()

    # The correcting edition to both lists: only B's people who had nothing get it.
    _send(runtime, correcting, "cronache", "altro", again=True)
    assert _received(memory) == Counter({address(i): 1 for i in range(6, 9)})
    memory.sent.clear()
    # The corrected edition to B: not to 4, who got the correction instead of it.
    _send(runtime, edition_id, "altro")
    assert _received(memory) == Counter({address(i): 1 for i in range(6, 9)})


def test_the_command_line_never_prints_minus_one_recipients(
    runtime: Runtime, capsys: pytest.CaptureFixture[str]
) -> None:
    edition_id = _two_lists(runtime, range(7), range(0))
    with runtime.sessions.begin() as session:
        send_id = ledger.create_send(session, edition_id, ["cronache"], utcnow()).id
    with runtime.sessions.begin() as session:  # the beat's reconciler is first
        reconcile.reconcile(session, runtime.settings.sending, utcnow() + dt.timedelta(seconds=1))
    app = AppContext(runtime.settings)
    with click.Context(click.Command("send"), obj=app):
        sending.start_now(app, send_id)
    output = capsys.readouterr().out
    assert "-1" not in output
    assert f"send {send_id} was started by the scheduler" in output
    assert f"send {send_id} started: 7 recipients" in output
