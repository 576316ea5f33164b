"""Bounces, complaints and mailto unsubscribes against real deliveries on PostgreSQL.

Each test sends an edition through the real ledger with the in-memory
transport, then returns mail for the messages it sent, addressed to their own
VERP return paths and unsubscribe mailtos, and checks what changed: the ledger
row, the batch counts, the subscription, the suppression list, the events.
"""

from __future__ import annotations

import mailbox
import re
from collections.abc import Callable
from pathlib import Path

import pytest
from click.testing import CliRunner
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from dispatcher.bounces.apply import Policy
from dispatcher.bounces.intake import BounceProcessor
from dispatcher.bounces.outcome import Outcome
from dispatcher.cli.main import cli
from dispatcher.config import SendingSettings
from dispatcher.message.outgoing import OutgoingMessage
from dispatcher.models import Batch, BounceEvent, Delivery
from dispatcher.office.edition_store import add_edition, read_source
from dispatcher.sends.runtime import Runtime
from dispatcher.transport.memory import MemoryTransport
from subscribers.models import Subscription, Suppression
from subscribers.suppression import email_hmac
from subscribers.tokens import Purpose, Signer
from tests.conftest import SECRET
from tests.support.bounces import (
    build_arf,
    build_auto_reply,
    build_dsn,
    build_unsubscribe_mail,
)
from tests.support.data import EDITION_FILE, add_subscribers, create_newsletter
from tests.support.sending import send_everything

DOMAIN = "bounces.example.org"
POLICY = SendingSettings(batch_size=10, dispatch_window=100)
_MAILTO = re.compile(rb"mailto:(u-[0-9a-f]+@[a-z.]+)")


@pytest.fixture
def runtime(make_runtime: Callable[..., Runtime]) -> Runtime:
    return make_runtime(sending=POLICY, bounce_domain=DOMAIN)


@pytest.fixture
def processor(runtime: Runtime) -> BounceProcessor:
    policy = Policy(runtime.settings.all_secret_keys, soft_bounce_threshold=3)
    return BounceProcessor(runtime.sessions, runtime.signer, policy, frozenset({DOMAIN}))


def _newsletter(runtime: Runtime, count: int) -> None:
    with runtime.sessions.begin() as session:
        add_subscribers(session, create_newsletter(session).id, count)


def _edition(runtime: Runtime, number: int = 44) -> int:
    source = read_source(EDITION_FILE).replace("number: 44", f"number: {number}", 1)
    with runtime.sessions.begin() as session:
        return add_edition(session, source, str(EDITION_FILE), runtime.settings).id


def _deliver(runtime: Runtime, memory: MemoryTransport, number: int = 44) -> list[OutgoingMessage]:
    """Send one edition to the newsletter; returns the messages of that send."""
    return send_everything(runtime, memory, _edition(runtime, number))


@pytest.fixture
def sent(runtime: Runtime, memory: MemoryTransport) -> list[OutgoingMessage]:
    _newsletter(runtime, 5)
    return _deliver(runtime, memory)


def _bounce(message: OutgoingMessage, **fields: str) -> bytes:
    return build_dsn(message.data, to=message.envelope_from, recipient=message.recipient, **fields)


def _row(session: Session, message: OutgoingMessage) -> Delivery:
    return session.get_one(Delivery, message.delivery_id)


def _subscription(session: Session, row: Delivery) -> Subscription:
    return session.scalars(
        select(Subscription).where(
            Subscription.subscriber_id == row.subscriber_id, Subscription.list_id == row.list_id
        )
    ).one()


def _events(session: Session) -> list[BounceEvent]:
    return list(session.scalars(select(BounceEvent).order_by(BounceEvent.id)))


def _batch_counts(session: Session) -> tuple[int, int, int]:
    totals = session.execute(
        select(func.sum(Batch.n_sent), func.sum(Batch.n_bounced), func.sum(Batch.n_complained))
    ).one()
    return (int(totals[0]), int(totals[1]), int(totals[2]))


def _nothing_recorded(session: Session) -> bool:
    statuses = set(session.scalars(select(Delivery.status)))
    changed = session.scalar(select(func.count()).select_from(Suppression))
    return statuses == {"sent"} and not _events(session) and not changed


# --- Hard bounces -------------------------------------------------------------------------------


def test_a_hard_bounce_marks_the_delivery_bounces_the_subscription_and_suppresses(
    runtime: Runtime, processor: BounceProcessor, sent: list[OutgoingMessage]
) -> None:
    message = sent[1]
    result = processor.process(_bounce(message), message.envelope_from, "test")
    assert result.outcome is Outcome.HARD
    with runtime.sessions() as session:
        row = _row(session, message)
        assert row.status == "bounced"
        assert _batch_counts(session) == (4, 1, 0)
        assert _subscription(session, row).status == "bounced"
        [suppression] = session.scalars(select(Suppression)).all()
        assert suppression.email_hmac == email_hmac(SECRET, message.recipient)
        assert (suppression.reason, suppression.subscriber_id) == ("hard_bounce", row.subscriber_id)
        [event] = _events(session)
        assert (event.kind, event.delivery_id, event.status_code) == ("hard", row.id, "5.1.1")
        assert (event.subscriber_id, event.list_id, event.source) == (
            row.subscriber_id,
            row.list_id,
            "dsn",
        )
        assert message.recipient in event.diagnostic


def test_the_next_send_skips_a_hard_bounced_address(
    runtime: Runtime,
    memory: MemoryTransport,
    processor: BounceProcessor,
    sent: list[OutgoingMessage],
) -> None:
    processor.process(_bounce(sent[0]), sent[0].envelope_from)
    second = _deliver(runtime, memory, number=45)
    assert sent[0].recipient not in {m.recipient for m in second}
    assert len(second) == 4


def test_the_same_bounce_twice_is_recorded_once(
    runtime: Runtime, processor: BounceProcessor, sent: list[OutgoingMessage]
) -> None:
    raw = _bounce(sent[2])
    outcomes = [processor.process(raw, sent[2].envelope_from).outcome for _ in range(2)]
    assert outcomes == [Outcome.HARD, Outcome.DUPLICATE]
    with runtime.sessions() as session:
        assert len(_events(session)) == 1
        assert session.scalar(select(func.count()).select_from(Suppression)) == 1


# --- Soft bounces -------------------------------------------------------------------------------


def test_a_delay_then_the_final_failure_of_one_message_count_one_soft_bounce(
    runtime: Runtime, processor: BounceProcessor, sent: list[OutgoingMessage]
) -> None:
    message = sent[3]
    delayed = _bounce(message, action="delayed", status="4.4.1", diagnostic="smtp; 421 busy")
    expired = _bounce(message, status="4.4.7", diagnostic="smtp; 452 4.2.2 mailbox full")
    outcomes = [
        processor.process(raw, message.envelope_from).outcome
        for raw in (delayed, expired, delayed, expired)
    ]
    assert outcomes == [Outcome.NOTICE, Outcome.SOFT, Outcome.DUPLICATE, Outcome.DUPLICATE]
    with runtime.sessions() as session:
        row = _row(session, message)
        subscription = _subscription(session, row)
        assert (row.status, subscription.status, subscription.soft_bounces) == (
            "bounced",
            "confirmed",
            1,
        )
        assert session.scalar(select(func.count()).select_from(Suppression)) == 0


def test_soft_bounces_of_three_editions_mark_the_subscription_bounced(
    runtime: Runtime, memory: MemoryTransport, processor: BounceProcessor
) -> None:
    _newsletter(runtime, 2)
    for number, expected in ((44, "confirmed"), (45, "confirmed"), (46, "bounced")):
        message = _deliver(runtime, memory, number)[0]
        full = _bounce(message, status="5.2.2", diagnostic="smtp; 552 5.2.2 mailbox full")
        assert processor.process(full, message.envelope_from).outcome is Outcome.SOFT
        with runtime.sessions() as session:
            subscription = _subscription(session, _row(session, message))
            assert subscription.status == expected
    assert subscription.soft_bounces == 3
    assert len(_deliver(runtime, memory, 47)) == 1  # the other reader only


def test_a_hard_bounce_after_a_soft_one_for_the_same_message_is_still_recorded(
    runtime: Runtime, processor: BounceProcessor, sent: list[OutgoingMessage]
) -> None:
    message = sent[0]
    soft = _bounce(message, status="5.2.2", diagnostic="smtp; 552 5.2.2 mailbox full")
    outcomes = [
        processor.process(r, message.envelope_from).outcome for r in (soft, _bounce(message))
    ]
    assert outcomes == [Outcome.SOFT, Outcome.HARD]
    with runtime.sessions() as session:
        assert _subscription(session, _row(session, message)).status == "bounced"


# --- Complaints and unsubscribes ----------------------------------------------------------------


def test_a_complaint_unsubscribes_suppresses_and_marks_the_delivery(
    runtime: Runtime, processor: BounceProcessor, sent: list[OutgoingMessage]
) -> None:
    message = sent[4]
    report = build_arf(message.data, to=f"fbl@{DOMAIN}", mail_from=message.envelope_from)
    outcomes = [processor.process(report, f"fbl@{DOMAIN}").outcome for _ in range(2)]
    assert outcomes == [Outcome.COMPLAINT, Outcome.DUPLICATE]
    with runtime.sessions() as session:
        row = _row(session, message)
        subscription = _subscription(session, row)
        assert row.status == "complained"
        assert (subscription.status, subscription.unsubscribed_at is not None) == (
            "unsubscribed",
            True,
        )
        assert _batch_counts(session) == (4, 0, 1)
        [suppression] = session.scalars(select(Suppression)).all()
        assert suppression.reason == "complaint"
        assert [e.kind for e in _events(session)] == ["complaint"]


def test_a_complaint_found_by_the_enclosed_unsubscribe_address(
    runtime: Runtime, processor: BounceProcessor, sent: list[OutgoingMessage]
) -> None:
    message = sent[2]
    report = build_arf(message.data, to=f"fbl@{DOMAIN}", mail_from=None)  # sender redacted too
    assert processor.process(report, f"fbl@{DOMAIN}").outcome is Outcome.COMPLAINT
    with runtime.sessions() as session:
        row = _row(session, message)
        assert _subscription(session, row).status == "unsubscribed"
        [event] = _events(session)
        assert (event.kind, event.delivery_id, event.subscriber_id) == (
            "complaint",
            None,
            row.subscriber_id,
        )


def test_mail_to_the_unsubscribe_mailto_unsubscribes_from_that_list(
    runtime: Runtime, processor: BounceProcessor, sent: list[OutgoingMessage]
) -> None:
    message = sent[1]
    match = _MAILTO.search(message.data)
    assert match is not None
    address = match.group(1).decode()
    raw = build_unsubscribe_mail(address, message.recipient)
    outcomes = [processor.process(raw, address).outcome for _ in range(2)]
    assert outcomes == [Outcome.UNSUBSCRIBE, Outcome.DUPLICATE]
    with runtime.sessions() as session:
        row = _row(session, message)
        assert _subscription(session, row).status == "unsubscribed"
        assert row.status == "sent"
        [event] = _events(session)
        assert (event.kind, event.source, event.subscriber_id) == (
            "unsubscribe",
            "mailto",
            row.subscriber_id,
        )
        assert session.scalar(select(func.count()).select_from(Suppression)) == 0


# --- What is not acted on -----------------------------------------------------------------------


def test_auto_replies_forgeries_and_unmatched_bounces_change_nothing(
    runtime: Runtime, processor: BounceProcessor, sent: list[OutgoingMessage]
) -> None:
    message = sent[0]
    other_key = Signer(["not-our-key"])
    forged_verp = f"b-{other_key.sign(Purpose.BOUNCE, message.delivery_id)}@{DOMAIN}"
    wrong_purpose = f"b-{runtime.signer.sign(Purpose.PREFERENCES, message.delivery_id)}@{DOMAIN}"
    forged_mailto = f"u-{other_key.sign(Purpose.UNSUBSCRIBE, 1, 1)}@{DOMAIN}"
    from_address = "cronache@cittametropolitana.torino.it"
    cases = [
        (build_auto_reply(message.envelope_from), message.envelope_from, Outcome.AUTO_REPLY),
        (_bounce(message), forged_verp, Outcome.FORGED),
        (_bounce(message), wrong_purpose, Outcome.FORGED),
        (build_unsubscribe_mail(forged_mailto), forged_mailto, Outcome.FORGED),
        (
            build_dsn(message.data, to=from_address, recipient=message.recipient),
            from_address,
            Outcome.UNMATCHED,
        ),
    ]
    for raw, recipient, expected in cases:
        assert processor.process(raw, recipient).outcome is expected
    with runtime.sessions() as session:
        assert _nothing_recorded(session)
        assert {s.status for s in session.scalars(select(Subscription))} == {"confirmed"}


def test_a_verified_token_for_a_delivery_that_is_gone_is_unmatched(
    runtime: Runtime, processor: BounceProcessor, sent: list[OutgoingMessage]
) -> None:
    ghost = f"b-{runtime.signer.sign(Purpose.BOUNCE, 99999)}@{DOMAIN}"
    raw = build_dsn(sent[0].data, to=ghost, recipient="someone@example.org")
    assert processor.process(raw, ghost).outcome is Outcome.UNMATCHED


# --- The command ----------------------------------------------------------------------------------


def test_bounces_process_reads_an_mbox_and_prints_a_summary(
    runtime: Runtime, pg_url: str, sent: list[OutgoingMessage], tmp_path: Path
) -> None:
    samples = Path(__file__).resolve().parents[1] / "data" / "bounces"
    messages = [
        _bounce(sent[0]),
        _bounce(sent[1], status="4.4.7", diagnostic="smtp; 421 4.4.2 timeout"),
        build_auto_reply(sent[2].envelope_from),
        (samples / "postfix_01.txt").read_bytes(),  # someone else's bounce: unmatched
        b"\x00\x01 not mail",
    ]
    mbox = tmp_path / "bounces.mbox"
    box = mailbox.mbox(mbox)
    for raw in messages:
        box.add(raw)
    box.close()
    env = {"DATABASE_URL": pg_url, "SECRET_KEY": SECRET, "BOUNCE_DOMAIN": DOMAIN}
    runner = CliRunner()
    dry = runner.invoke(cli, ["bounces", "process", "--dry-run", str(mbox)], env=env)
    assert dry.exit_code == 0, dry.output
    with runtime.sessions() as session:
        assert _nothing_recorded(session)
    result = runner.invoke(cli, ["bounces", "process", "--list", str(mbox)], env=env)
    assert result.exit_code == 0, result.output
    counts = _summary(result.output)
    assert (counts["hard bounces"], counts["soft bounces"], counts["auto-replies (ignored)"]) == (
        1,
        1,
        1,
    )
    assert (counts["unmatched"], counts["unparsable"], counts["total"]) == (1, 1, 5)
    with runtime.sessions() as session:
        assert sorted(e.kind for e in _events(session)) == ["hard", "soft"]


def _summary(output: str) -> dict[str, int]:
    counts: dict[str, int] = {}
    for line in output.splitlines():
        label, _, number = line.rpartition(" ")
        if number.isdigit():
            counts[label.split("(no")[0].strip()] = int(number)
    return counts
