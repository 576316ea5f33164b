"""Controlling sends through the real ledger (PostgreSQL) with the in-memory transport.

Pause, resume and cancel are conditional state changes; a batch in progress
notices them at its next look at the send's state. Automatic pause, retry, late
sends and corrections are checked against who really got a message.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections import Counter
from collections.abc import Callable

import pytest
import redis
from click.testing import CliRunner, Result
from sqlalchemy import func, select, update
from sqlalchemy.orm import Session, sessionmaker

from dispatcher.cli.main import cli
from dispatcher.config import SendingSettings, Settings
from dispatcher.errors import NotFoundError, StateError
from dispatcher.message.outgoing import OutgoingMessage
from dispatcher.models import Batch, Delivery, Send
from dispatcher.office import approvals
from dispatcher.office.edition_store import add_edition, read_source
from dispatcher.sends import autopause, claims, control, ledger, progress, reconcile
from dispatcher.sends.batch import STATE_CHECK_EVERY, run_batch
from dispatcher.sends.journal import FOLD_EVERY
from dispatcher.sends.runtime import Runtime
from dispatcher.transport.memory import MemoryTransport
from subscribers.models import Subscription, Suppression
from subscribers.orm import utcnow
from tests.conftest import ANY_TIME, REDIS_URL
from tests.support.data import (
    EDITION_FILE,
    add_readers_and_edition,
    add_subscribers,
    address,
    subscriber_id,
    unsubscribe,
)
from tests.support.sending import drain, edition_for, ledger_rows, start_send

POLICY = SendingSettings(batch_size=10, dispatch_window=100, retry_base=60, lease_seconds=30)
BIG_BATCHES = SendingSettings(batch_size=300, dispatch_window=100, retry_base=60)


@pytest.fixture
def runtime(make_runtime: Callable[..., Runtime]) -> Runtime:
    return make_runtime(sending=POLICY)


def _send(runtime: Runtime, edition_id: int) -> tuple[int, list[int]]:
    """Start a send as ``send --now`` does; returns its id and the batches it 'enqueued'."""
    enqueued: list[int] = []
    size = runtime.settings.sending.batch_size
    send_id = start_send(runtime.sessions, edition_id, ("cronache",), 100, size, enqueued.append)
    return send_id, enqueued


def _big_send(make_runtime: Callable[..., Runtime], readers: int) -> tuple[Runtime, int, list[int]]:
    """A runtime with batches of 300, and a send to ``readers`` started on it."""
    runtime = make_runtime(sending=BIG_BATCHES)
    return (runtime, *_send(runtime, edition_for(runtime, readers)))


def _take(runtime: Runtime, send_id: int) -> list[int]:
    with runtime.sessions.begin() as session:
        return reconcile.take_pending(session, send_id, 100, utcnow())


def _do(runtime: Runtime, action: Callable[[Session], object]) -> object:
    with runtime.sessions.begin() as session:
        return action(session)


def _send_row(runtime: Runtime, send_id: int) -> Send:
    with runtime.sessions() as session:
        send = session.get_one(Send, send_id)
        session.expunge(send)
        return send


def _statuses(runtime: Runtime, send_id: int) -> Counter[str]:
    return Counter(row.status for row in ledger_rows(runtime.sessions, send_id))


def _assert_counters_match_ledger(runtime: Runtime, send_id: int) -> None:
    """The batches' counters (what the console reads) say what the ledger says."""
    with runtime.sessions() as session:
        counters = {k: v for k, v in progress.send_counts(session, send_id).items() if v}
    assert counters == dict(_statuses(runtime, send_id))


def _recipients(memory: MemoryTransport) -> Counter[str]:
    return Counter(m.recipient for m in memory.sent)


def _pause_after(
    runtime: Runtime, send_id: int, count: int
) -> Callable[[OutgoingMessage], tuple[int, str]]:
    """A responder that accepts everything and pauses the send at the ``count``-th message."""
    seen = [0]

    def respond(message: OutgoingMessage) -> tuple[int, str]:
        seen[0] += 1
        if seen[0] == count:
            _do(runtime, lambda s: control.pause_send(s, send_id, "operator says stop", utcnow()))
        return 250, "2.0.0 ok"

    return respond


# -- pause, resume, cancel ---------------------------------------------------------------------


def test_a_pause_stops_the_batch_at_its_next_look_and_resume_sends_the_rest_once(
    make_runtime: Callable[..., Runtime], memory: MemoryTransport
) -> None:
    runtime, send_id, batches = _big_send(make_runtime, 300)
    memory.responder = _pause_after(runtime, send_id, 30)

    drain(runtime, batches)

    # The group in progress finishes: the batch looks at the state every 100 messages.
    assert len(memory.sent) == STATE_CHECK_EVERY
    paused = _send_row(runtime, send_id)
    assert (paused.state, paused.state_reason) == ("paused", "operator says stop")
    assert _statuses(runtime, send_id) == Counter({"sent": 100, "queued": 200})
    _assert_counters_match_ledger(runtime, send_id)
    assert _take(runtime, send_id) == []  # nothing is dispatched while paused

    memory.responder = lambda m: (250, "2.0.0 ok")
    _do(runtime, lambda s: control.resume_send(s, send_id, utcnow()))
    assert _send_row(runtime, send_id).state_reason == ""
    drain(runtime, _take(runtime, send_id))

    assert _recipients(memory) == Counter({address(i): 1 for i in range(300)})
    assert _send_row(runtime, send_id).state == "finished"


def test_a_batch_that_finds_its_send_paused_waits_pending_and_goes_on_resume(
    runtime: Runtime, memory: MemoryTransport
) -> None:
    send_id, batches = _send(runtime, edition_for(runtime, 25))
    _do(runtime, lambda s: control.pause_send(s, send_id, "", utcnow()))
    assert _send_row(runtime, send_id).state_reason == "paused"

    drain(runtime, batches)  # the tasks were in the broker already
    assert memory.sent == []
    with runtime.sessions() as session:
        states = set(session.scalars(select(Batch.state).where(Batch.send_id == send_id)))
    assert states == {"pending"}  # not left "enqueued" until the redispatch delay

    _do(runtime, lambda s: control.resume_send(s, send_id, utcnow()))
    drain(runtime, _take(runtime, send_id))
    assert _recipients(memory) == Counter({address(i): 1 for i in range(25)})


#: A send's state -> the controls it accepts, and those it refuses.
ACCEPTED = {"running": ["pause"], "paused": ["resume", "cancel"], "scheduled": ["cancel"]}
REFUSED = {
    "running": ["resume"],
    "paused": ["pause"],
    "scheduled": ["pause"],
    "finished": ["resume", "pause", "cancel"],
    "cancelled": ["resume", "cancel"],
}


@pytest.mark.parametrize(
    ("state", "action", "allowed"),
    [(state, action, True) for state, actions in ACCEPTED.items() for action in actions]
    + [(state, action, False) for state, actions in REFUSED.items() for action in actions],
)
def test_controls_change_only_the_states_they_are_meant_for(
    runtime: Runtime, state: str, action: str, allowed: bool
) -> None:
    send_id, _ = _send(runtime, edition_for(runtime, 3))
    _do(runtime, lambda s: s.execute(update(Send).where(Send.id == send_id).values(state=state)))
    controls: dict[str, Callable[[Session], object]] = {
        "pause": lambda s: control.pause_send(s, send_id, "why", utcnow()),
        "resume": lambda s: control.resume_send(s, send_id, utcnow()),
        "cancel": lambda s: control.cancel_send(s, send_id, "why", utcnow()),
    }
    if allowed:
        _do(runtime, controls[action])
        assert _send_row(runtime, send_id).state != state
    else:
        with pytest.raises(StateError, match=f"send {send_id} is {state}"):
            _do(runtime, controls[action])
        assert _send_row(runtime, send_id).state == state


def test_controlling_a_send_that_does_not_exist_says_so(runtime: Runtime) -> None:
    with pytest.raises(NotFoundError):
        _do(runtime, lambda s: control.pause_send(s, 999, "", utcnow()))


def test_cancel_skips_queued_and_deferred_rows_and_sends_nothing_more(
    runtime: Runtime, memory: MemoryTransport
) -> None:
    send_id, batches = _send(runtime, edition_for(runtime, 30))
    memory.responder = lambda m: (451, "4.7.1 later") if m.delivery_id == 2 else (250, "ok")
    run_batch(runtime, batches[0], lambda _: None)  # rows 1-10: nine sent, one deferred

    result = _do(runtime, lambda s: control.cancel_send(s, send_id, "wrong list", utcnow()))
    assert isinstance(result, control.ControlResult) and result.rows == 21

    drain(runtime, batches[1:])
    assert len(memory.sent) == 9  # only the first batch's accepted messages
    rows = ledger_rows(runtime.sessions, send_id)
    assert Counter(r.status for r in rows) == Counter({"sent": 9, "skipped": 21})
    assert {r.smtp_reply for r in rows if r.status == "skipped"} == {control.CANCELLED_REPLY}
    cancelled = _send_row(runtime, send_id)
    assert (cancelled.state, cancelled.state_reason) == ("cancelled", "wrong list")
    assert cancelled.finished_at is not None
    _assert_counters_match_ledger(runtime, send_id)


def test_cancel_during_a_batch_lets_the_group_in_progress_finish_and_skips_the_rest(
    make_runtime: Callable[..., Runtime], memory: MemoryTransport
) -> None:
    runtime, send_id, batches = _big_send(make_runtime, 250)

    def respond(message: OutgoingMessage) -> tuple[int, str]:
        if len(memory.sent) == 40:
            _do(runtime, lambda s: control.cancel_send(s, send_id, "", utcnow()))
        return 250, "ok"

    memory.responder = respond
    drain(runtime, batches)
    # The rows this batch held were 'sending' at the cancel: they came back and were skipped.
    assert _statuses(runtime, send_id) == Counter({"sent": 100, "skipped": 150})
    _assert_counters_match_ledger(runtime, send_id)
    with runtime.sessions() as session:
        states = set(session.scalars(select(Batch.state).where(Batch.send_id == send_id)))
    assert states == {"done"}


@pytest.mark.parametrize(
    ("policy", "expected"),
    [("keep", {"uncertain": FOLD_EVERY, "skipped": 20}), ("resend", {"skipped": FOLD_EVERY + 20})],
)
def test_rows_a_dead_worker_held_in_a_cancelled_send_are_skipped_by_the_reconciler(
    make_runtime: Callable[..., Runtime], policy: str, expected: dict[str, int]
) -> None:
    sending = dataclasses.replace(POLICY, batch_size=FOLD_EVERY + 20, uncertain_policy=policy)
    runtime = make_runtime(sending=sending)
    send_id, batches = _send(runtime, edition_for(runtime, FOLD_EVERY + 20))
    lease = dt.timedelta(seconds=1)
    _do(runtime, lambda s: claims.claim_batch(s, batches[0], "dead:1:x", utcnow(), lease))
    _do(runtime, lambda s: control.cancel_send(s, send_id, "", utcnow()))
    later = utcnow() + dt.timedelta(seconds=5)
    _do(runtime, lambda s: reconcile.reconcile(s, sending, later))
    # The dead worker left no journal here (its machine is gone), so its last FOLD_EVERY
    # outcomes may be lost: its first FOLD_EVERY rows may have gone. They stay uncertain
    # under "keep"; under "resend" they are due again, and a cancelled send skips them
    # like the others.
    assert _statuses(runtime, send_id) == Counter(expected)
    _assert_counters_match_ledger(runtime, send_id)


# -- automatic pause ---------------------------------------------------------------------------


def test_a_wave_of_failures_pauses_the_send_with_the_reason(
    make_runtime: Callable[..., Runtime], memory: MemoryTransport
) -> None:
    runtime, send_id, batches = _big_send(make_runtime, 300)
    memory.responder = lambda m: (
        (550, "5.7.1 blocked by policy") if m.delivery_id % 4 == 0 else (250, "ok")
    )
    drain(runtime, batches)

    send = _send_row(runtime, send_id)
    assert send.state == "paused"
    assert send.state_reason.startswith("paused automatically: 50 of the last 200 messages")
    assert "550" in send.state_reason
    # It stopped right there: 200 outcomes, the rest given back to the queue.
    assert _statuses(runtime, send_id) == Counter({"sent": 150, "failed": 50, "queued": 100})


def test_a_few_failures_do_not_pause_the_send(
    make_runtime: Callable[..., Runtime], memory: MemoryTransport
) -> None:
    runtime, send_id, batches = _big_send(make_runtime, 300)
    memory.responder = lambda m: (550, "5.1.1 unknown") if m.delivery_id % 10 == 0 else (250, "ok")
    drain(runtime, batches)
    assert _send_row(runtime, send_id).state == "finished"


def test_the_decision_counts_every_outcome_that_is_not_sent() -> None:
    policy = autopause.AutoPausePolicy(window=10, ratio=0.3)
    window = autopause.FailureWindow(policy)
    # A 4xx counts once it persists (see test_autopause_greylisting.py for the rule).
    persisting = autopause.PERSISTENT_FROM_ATTEMPT
    outcomes = [("sent", 250, 1)] * 7 + [("deferred", 451, persisting)] * 2
    assert all(window.add(status, code, n) is None for status, code, n in outcomes)
    reason = window.add("failed", 550)
    assert reason is not None and "3 of the last 10" in reason and "451" in reason
    assert autopause.FailureWindow(autopause.AutoPausePolicy(window=0)).add("failed", 550) is None
    assert autopause.pause_reason([("sent", 250)] * 9 + [("failed", 550)], 0.2) is None


# -- retry -------------------------------------------------------------------------------------


def test_retry_makes_deferred_rows_due_now(runtime: Runtime, memory: MemoryTransport) -> None:
    send_id, batches = _send(runtime, edition_for(runtime, 5))
    memory.responder = lambda m: (451, "4.7.1 later") if m.delivery_id in (2, 4) else (250, "ok")
    drain(runtime, batches)
    assert _statuses(runtime, send_id) == Counter({"sent": 3, "deferred": 2})

    memory.responder = lambda m: (250, "ok")
    result = _do(runtime, lambda s: control.retry_send(s, send_id, utcnow()))
    assert isinstance(result, control.ControlResult) and result.rows == 2
    drain(runtime, _take(runtime, send_id))
    assert _statuses(runtime, send_id) == Counter({"sent": 5})
    assert _send_row(runtime, send_id).state == "finished"


@pytest.mark.parametrize(("in_doubt", "retried"), [(False, [1, 2]), (True, [1, 2, 3])])
def test_retry_gives_expired_rows_one_more_attempt_and_reopens_a_finished_send(
    make_runtime: Callable[..., Runtime],
    memory: MemoryTransport,
    in_doubt: bool,
    retried: list[int],
) -> None:
    short = SendingSettings(batch_size=10, retry_base=3600, retry_window=1800)
    runtime = make_runtime(sending=short)
    send_id, batches = _send(runtime, edition_for(runtime, 4))
    memory.responder = lambda m: (452, "4.2.2 full") if m.delivery_id != 1 else (250, "ok")
    drain(runtime, batches)
    assert _statuses(runtime, send_id) == Counter({"sent": 1, "failed": 3})
    assert _send_row(runtime, send_id).state == "finished"
    # A row in doubt (no reply after the final dot once) may have arrived.
    _do(
        runtime, lambda s: s.execute(update(Delivery).where(Delivery.id == 4).values(in_doubt=True))
    )

    memory.sent.clear()
    memory.responder = lambda m: (250, "ok")
    result = _do(runtime, lambda s: control.retry_send(s, send_id, utcnow(), in_doubt=in_doubt))
    assert isinstance(result, control.ControlResult)
    assert (result.rows, result.state) == (len(retried), "running")
    drain(runtime, _take(runtime, send_id))

    assert sorted(_recipients(memory)) == [address(i) for i in retried]
    assert _statuses(runtime, send_id) == Counter(
        {"sent": 1 + len(retried), "failed": 3 - len(retried)}
    )
    assert {r.id: r for r in ledger_rows(runtime.sessions, send_id)}[2].attempts == 2
    assert _send_row(runtime, send_id).state == "finished"
    _assert_counters_match_ledger(runtime, send_id)


def test_retry_is_refused_for_a_cancelled_send(runtime: Runtime) -> None:
    send_id, _ = _send(runtime, edition_for(runtime, 2))
    _do(runtime, lambda s: control.cancel_send(s, send_id, "", utcnow()))
    with pytest.raises(StateError):
        _do(runtime, lambda s: control.retry_send(s, send_id, utcnow()))


# -- late sends and corrections ----------------------------------------------------------------


def _start(runtime: Runtime, new: Send) -> list[int]:
    send_id = new.id
    with runtime.sessions.begin() as session:
        ledger.start_send(session, send_id, utcnow(), runtime.settings.sending.batch_size)
    return _take(runtime, send_id)


def _sent_with_one_refused(
    runtime: Runtime, memory: MemoryTransport, readers: int, refused: int
) -> tuple[int, int]:
    """Send to ``readers``, the relay refusing ``address(refused)`` for good.

    :returns: the edition's id and the finished send's.
    """
    edition_id = edition_for(runtime, readers)
    memory.responder = lambda m: (
        (550, "5.1.1 unknown") if m.recipient == address(refused) else (250, "ok")
    )
    send_id, batches = _send(runtime, edition_id)
    drain(runtime, batches)
    return edition_id, send_id


def test_a_late_send_reaches_only_those_who_subscribed_after(
    runtime: Runtime, memory: MemoryTransport
) -> None:
    edition_id, send_id = _sent_with_one_refused(runtime, memory, 6, 3)
    with runtime.sessions.begin() as session:
        list_id = session.scalar(select(Subscription.list_id).limit(1))
        assert list_id is not None
        newcomers = add_subscribers(session, list_id, 3, start=100)
        session.add(Suppression(email_hmac="y" * 64, subscriber_id=newcomers[2], reason="bounce"))
    memory.sent.clear()
    memory.responder = lambda m: (250, "ok")

    with runtime.sessions.begin() as session:
        late = control.create_late_send(session, send_id, utcnow(), "tester")
        session.expunge(late)
    assert (late.kind, late.parent_send_id, late.edition_id) == ("late", send_id, edition_id)
    drain(runtime, _start(runtime, late))

    # Not the one who failed the first time: a newcomer is someone with no row at all.
    assert sorted(_recipients(memory)) == [address(100), address(101)]
    assert _statuses(runtime, late.id) == Counter({"sent": 2, "skipped": 1})
    assert _send_row(runtime, late.id).state == "finished"


def test_a_late_send_needs_a_started_send(runtime: Runtime) -> None:
    edition_id = edition_for(runtime, 0)
    with runtime.sessions.begin() as session:
        scheduled = ledger.create_send(session, edition_id, ["cronache"], utcnow()).id
    with pytest.raises(StateError, match="scheduled"):
        _do(runtime, lambda s: control.create_late_send(s, scheduled, utcnow()))


def _second_edition(runtime: Runtime) -> int:
    source = read_source(EDITION_FILE).replace("number: 44", "number: 45", 1)
    with runtime.sessions.begin() as session:
        return add_edition(session, source, "correzione.md", runtime.settings).id


def test_a_correction_reaches_exactly_those_who_got_the_original(
    runtime: Runtime, memory: MemoryTransport
) -> None:
    edition_id, send_id = _sent_with_one_refused(runtime, memory, 8, 0)
    correcting = _second_edition(runtime)
    with runtime.sessions.begin() as session:
        gone, blocked = subscriber_id(session, 1), subscriber_id(session, 2)
        unsubscribe(session, gone)
        session.add(Suppression(email_hmac="z" * 64, subscriber_id=blocked, reason="complaint"))
        add_subscribers(session, 1, 2, start=200)  # newcomers did not get the original
    memory.sent.clear()
    memory.responder = lambda m: (250, "ok")

    with runtime.sessions.begin() as session:
        fix = control.create_correction(session, send_id, correcting, utcnow(), "tester")
        session.expunge(fix)
    assert (fix.kind, fix.parent_send_id, fix.edition_id) == ("correction", send_id, correcting)
    drain(runtime, _start(runtime, fix))

    assert sorted(_recipients(memory)) == [address(i) for i in range(3, 8)]
    rows = ledger_rows(runtime.sessions, fix.id)
    skipped = {r.subscriber_id: r.smtp_reply for r in rows if r.status == "skipped"}
    assert skipped == {
        gone: "not sent: unsubscribed since the original",
        blocked: "not sent: the address is on the suppression list",
    }
    assert len(rows) == 7  # one per person who got the original, the failed one excepted
    assert _send_row(runtime, fix.id).state == "finished"


def test_a_correction_is_refused_before_the_original_starts_or_with_the_same_edition(
    runtime: Runtime,
) -> None:
    # A correction may follow a send that is still going (issue 12, item 4: see
    # tests/flows/test_no_edition_twice.py); not one that has not started.
    edition_id = edition_for(runtime, 3)
    with runtime.sessions.begin() as session:
        send_id = ledger.create_send(session, edition_id, ["cronache"], utcnow()).id
    correcting = _second_edition(runtime)
    with pytest.raises(StateError, match="scheduled"):
        _do(runtime, lambda s: control.create_correction(s, send_id, correcting, utcnow()))
    with runtime.sessions.begin() as session:
        ledger.start_send(session, send_id, utcnow(), runtime.settings.sending.batch_size)
    drain(runtime, _take(runtime, send_id))
    with pytest.raises(StateError, match="another edition"):
        _do(runtime, lambda s: control.create_correction(s, send_id, edition_id, utcnow()))
    with pytest.raises(NotFoundError):
        _do(runtime, lambda s: control.create_correction(s, send_id, 999, utcnow()))
    with runtime.sessions() as session:
        assert session.scalar(select(func.count()).select_from(Send)) == 1


# -- the command line --------------------------------------------------------------------------


def test_the_send_command_keeps_its_short_form_and_controls_sends(
    pg_url: str, pg_sessions: sessionmaker[Session], broker_prefix: str, redis_store: redis.Redis
) -> None:
    env = {
        "DATABASE_URL": pg_url,
        "BROKER_URL": REDIS_URL,
        "BROKER_KEY_PREFIX": broker_prefix,
        "SECRET_KEY": "k",
        "PUBLIC_URL": "https://newsletter.example.org",
        **ANY_TIME,
    }

    def run(*args: str) -> Result:
        return CliRunner().invoke(cli, list(args), env=env, catch_exceptions=False)

    settings = Settings(secret_keys=("k",), public_url="https://newsletter.example.org")
    with pg_sessions.begin() as session:
        edition_id = add_readers_and_edition(session, settings, 25)
        approvals.approve(session, edition_id, "tester", settings)  # after its preflight

    started = run("send", str(edition_id), "--list", "cronache", "--now")
    assert started.exit_code == 0, started.output
    assert "send 1 started: 25 recipients, 1 batches enqueued" in started.output
    assert redis_store.llen(f"{broker_prefix}celery") == 1  # in the test's own queue

    assert run("send", "pause", "1", "--reason", "controllo").exit_code == 0
    with pg_sessions() as session:
        assert (session.get_one(Send, 1).state, session.get_one(Send, 1).state_reason) == (
            "paused",
            "controllo",
        )
    assert "send 1 resumed" in run("send", "resume", "1").output
    status = run("status", "1").output
    assert "RUNNING" in status and "queues: celery 1 waiting" in status
    assert "workers: 0 processes alive" in status and "beat: no tick recorded" in status

    cancelled = run("send", "cancel", "1")
    assert "25 messages will not be sent" in cancelled.output
    refused = CliRunner().invoke(cli, ["send", "resume", "1"], env=env)
    assert refused.exit_code == 1 and "send 1 is cancelled" in refused.output

    helped = run("send", "--help").output
    for command in ("start", "pause", "resume", "cancel", "retry", "late", "correction"):
        assert command in helped
    assert "--list" in run("send", "start", "--help").output
    assert "--edition" in run("send", "correction", "--help").output
