"""Greylisting does not pause a send; a relay that refuses everyone still does.

A relay that greylists answers 451 to the first attempt for an address it has not
seen, and takes the message when it comes back. Here a random share of the
addresses is greylisted, chosen afresh each run (the seed is in every assertion's
message to replay it with ``GREYLIST_SEED``): wherever they fall, side by side or
not, the send must finish with everyone delivered once and never pause. The pause
must still work for what really is a broken relay: 5xx to everyone, or 4xx that do
not go away. Everything runs for real: PostgreSQL, Redis, a Celery worker process
with its beat, an SMTP server on 127.0.0.1.
"""

from __future__ import annotations

import os
import random
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from dispatcher.config import SendingSettings, Settings
from dispatcher.models import Send
from dispatcher.sends.autopause import PERSISTENT_FROM_ATTEMPT
from dispatcher.worker.app import create_celery
from dispatcher.worker.tasks import enqueue_batch
from subscribers.models import Subscriber
from tests.smtpd import SmtpServer
from tests.support.data import add_example_edition, add_subscribers, address, create_newsletter
from tests.support.sending import ledger_rows, start_send, wait_finished
from tests.support.worker import WorkerProcess

pytestmark = [pytest.mark.integration, pytest.mark.slow]

COUNT = 2000
BATCH = 500  # the automatic pause looks at a window inside one batch: at least 200 rows
POLICY = SendingSettings(
    batch_size=BATCH,
    dispatch_window=4,
    lease_seconds=20,
    redispatch_after=20,
    reconcile_interval=1,
    retry_base=0.5,  # greylisted rows come back half a second later
    retry_max_interval=1,
    retry_window=120,
    relay_backoff_base=1,
    relay_backoff_max=2,
)
GREYLISTED = (451, "4.7.1 Greylisted, see https://postgrey.schweikert.ch/help/example.org.html")


@pytest.fixture
def seed() -> int:
    return int(os.environ.get("GREYLIST_SEED") or random.randrange(2**32))


@pytest.fixture
def relay() -> Iterator[SmtpServer]:
    with SmtpServer(pipelining=True, keep_data=False) as server:
        yield server


@dataclass
class Outcome:
    """What a send through the test relay came to."""

    send: Send
    statuses: Counter[str]
    attempts: dict[str, int]  # address -> attempts of its row


@pytest.fixture
def run_send(
    make_settings: Callable[..., Settings],
    pg_url: str,
    pg_sessions: sessionmaker[Session],
    relay: SmtpServer,
    broker_prefix: str,
    tmp_path: Path,
) -> Callable[[dict[str, str]], Outcome]:
    """Send an edition to COUNT people through ``relay``, with these extra settings."""

    def run(extra_env: dict[str, str]) -> Outcome:
        settings = make_settings(
            database_url=pg_url, smtp_url=relay.url, sending=POLICY, broker_key_prefix=broker_prefix
        )
        create_celery(settings)
        with pg_sessions.begin() as session:
            newsletter = create_newsletter(session)
            add_subscribers(session, newsletter.id, COUNT)
            edition_id = add_example_edition(session, settings)
        with WorkerProcess(settings, tmp_path, extra_env=extra_env) as worker:
            send_id = start_send(pg_sessions, edition_id, ("cronache",), 4, BATCH, enqueue_batch)
            state = wait_finished(pg_sessions, send_id, timeout=180)
            assert state in ("finished", "paused"), worker.log()
        with pg_sessions() as session:
            send = session.get_one(Send, send_id)
            session.expunge(send)
            emails = {i: e for i, e in session.execute(select(Subscriber.id, Subscriber.email))}
        rows = ledger_rows(pg_sessions, send_id)
        attempts = {emails[row.subscriber_id]: row.attempts for row in rows}
        return Outcome(send, Counter(row.status for row in rows), attempts)

    return run


def _greylist(relay: SmtpServer, share: float, seed: int) -> set[str]:
    """Greylist the first attempt of a random ``share`` of the addresses."""
    chosen = {address(i) for i in random.Random(seed).sample(range(COUNT), int(COUNT * share))}
    for recipient in chosen:
        relay.fail_rcpt(recipient, [GREYLISTED])
    return chosen


@pytest.mark.parametrize(
    ("share", "window"),
    [
        # One in ten, with a window of 30 (ratio 20%): six greylisted among some thirty
        # in a row happens in practically every run of 2,000 (in every one of 2,000
        # simulated), and paused the send before. With a window of 50 it is 98%.
        (0.10, "30"),
        # Three in ten, with the default window of 200 and ratio of 20%.
        (0.30, "200"),
    ],
)
def test_greylisting_at_random_delays_some_rows_but_never_pauses_the_send(
    run_send: Callable[[dict[str, str]], Outcome],
    relay: SmtpServer,
    seed: int,
    share: float,
    window: str,
) -> None:
    greylisted = _greylist(relay, share, seed)
    done = run_send({"AUTO_PAUSE_WINDOW": window, "AUTO_PAUSE_RATIO": "0.2"})

    why = f"seed {seed}: {done.send.state_reason}"
    assert (done.send.state, done.send.state_reason) == ("finished", ""), why
    assert done.statuses == Counter({"sent": COUNT}), why
    received = Counter(rcpt for message in relay.accepted for rcpt in message.rcpt_tos)
    assert len(received) == COUNT and set(received.values()) == {1}, why
    # The greylisted came back once; nobody else was tried twice.
    assert {a for a, n in done.attempts.items() if n == 2} == greylisted, why
    assert set(done.attempts.values()) == {1, 2}, why


def test_a_relay_that_refuses_everyone_still_pauses_the_send(
    run_send: Callable[[dict[str, str]], Outcome], relay: SmtpServer
) -> None:
    relay.fail_rcpt(None, [(550, "5.7.1 Service unavailable; client host blocked")] * COUNT)
    done = run_send({})
    assert done.send.state == "paused"
    assert done.send.state_reason.startswith("paused automatically: 200 of the last 200")
    assert "550" in done.send.state_reason
    assert done.statuses["sent"] == 0 and done.statuses["failed"] >= 200


def test_a_4xx_that_persists_pauses_the_send_at_the_attempt_where_it_counts(
    run_send: Callable[[dict[str, str]], Outcome], relay: SmtpServer
) -> None:
    relay.fail_rcpt(None, [(451, "4.3.2 System not accepting network messages")] * COUNT * 10)
    done = run_send({})
    assert done.send.state == "paused"
    assert "451" in done.send.state_reason
    # Retried like greylisting until the attempt from which a 4xx counts, and paused
    # then: not at the first 451s, and not only once the retry window ran out.
    assert max(done.attempts.values()) >= PERSISTENT_FROM_ATTEMPT
    assert not {"sent", "failed"} & set(done.statuses), done.statuses
