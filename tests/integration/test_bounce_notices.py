"""Delay notices are not bounces, and a delivery in between starts the soft count again.

The DSNs are the bytes Postfix writes (``tests/data/dsn``): a "Delayed Mail
(still being retried)" warning with ``Action: delayed``, ``Status: 4.4.1`` and
``Will-Retry-Until``, and a report naming one delayed and one failed recipient.
They reach the real receiver (``dispatcher bounces serve`` in a subprocess, over
SMTP) and ``dispatcher bounces process FILE``, for deliveries made through the
real ledger on PostgreSQL.
"""

from __future__ import annotations

import smtplib
from pathlib import Path

import pytest
from click.testing import CliRunner
from sqlalchemy import select

from dispatcher.bounces.intake import BounceProcessor
from dispatcher.bounces.outcome import Outcome
from dispatcher.cli.main import cli
from dispatcher.message.outgoing import OutgoingMessage
from dispatcher.models import BounceEvent
from dispatcher.sends.runtime import Runtime
from dispatcher.transport.memory import MemoryTransport
from tests.conftest import SECRET
from tests.flows import test_bounces as flows
from tests.integration import test_bounce_server as server

pytestmark = pytest.mark.integration

DSN = Path(__file__).resolve().parents[1] / "data" / "dsn"
DOMAIN = flows.DOMAIN

runtime = flows.runtime
processor = flows.processor
sent = flows.sent


def postfix_dsn(name: str, message: OutgoingMessage, other: str = "alias@example.net") -> bytes:
    """A stored Postfix DSN about ``message``, with its VERP address and headers filled in."""
    headers = message.data.split(b"\r\n\r\n", 1)[0].replace(b"\r\n", b"\n")
    text = (DSN / name).read_bytes()
    for slot, value in [
        (b"@VERP@", message.envelope_from.encode()),
        (b"@RCPT@", message.recipient.encode()),
        (b"@OTHER@", other.encode()),
        (b"@HEADERS@", headers),
    ]:
        text = text.replace(slot, value)
    return text.replace(b"\n", b"\r\n")


def _state(runtime: Runtime, message: OutgoingMessage) -> tuple[str, str, int]:
    """(ledger status, subscription status, soft bounces) of a message's row."""
    with runtime.sessions() as session:
        row = flows._row(session, message)
        subscription = flows._subscription(session, row)
        return row.status, subscription.status, subscription.soft_bounces


def _events(runtime: Runtime) -> list[tuple[str, str | None, str | None, str]]:
    with runtime.sessions() as session:
        return [(e.kind, e.action, e.status_code, e.diagnostic) for e in flows._events(session)]


def test_a_postfix_delay_notice_is_recorded_and_changes_nothing(
    runtime: Runtime, processor: BounceProcessor, sent: list[OutgoingMessage]
) -> None:
    message = sent[0]
    raw = postfix_dsn("postfix_delayed.eml", message)
    outcomes = [processor.process(raw, message.envelope_from).outcome for _ in range(4)]
    assert outcomes == [Outcome.NOTICE] + [Outcome.DUPLICATE] * 3
    assert _state(runtime, message) == ("sent", "confirmed", 0)
    [(kind, action, status, diagnostic)] = _events(runtime)
    assert (kind, action, status) == ("notice", "delayed", "4.4.1")
    assert "Connection timed out" in diagnostic
    assert "will retry until Wed, 11 Dec 2024" in diagnostic


def test_delay_notices_of_every_edition_never_bounce_the_subscription(
    runtime: Runtime, memory: MemoryTransport, processor: BounceProcessor
) -> None:
    flows._newsletter(runtime, 1)
    for number in range(44, 49):  # five editions, each delayed at least once
        [message] = flows._deliver(runtime, memory, number)
        raw = postfix_dsn("postfix_delayed.eml", message)
        assert processor.process(raw, message.envelope_from).outcome is Outcome.NOTICE
        assert _state(runtime, message) == ("sent", "confirmed", 0)
    assert len(flows._deliver(runtime, memory, 49)) == 1


def test_a_mixed_dsn_bounces_the_failed_recipient_and_records_the_delayed_one(
    runtime: Runtime, processor: BounceProcessor, sent: list[OutgoingMessage]
) -> None:
    message = sent[1]
    raw = postfix_dsn("postfix_mixed.eml", message, other="forward@other.example")
    assert processor.process(raw, message.envelope_from).outcome is Outcome.HARD
    assert _state(runtime, message) == ("bounced", "bounced", 0)
    events = {(kind, action, status) for kind, action, status, _ in _events(runtime)}
    assert events == {("notice", "delayed", "4.4.1"), ("hard", "failed", "5.1.1")}
    notice = next(e for e in _events(runtime) if e[0] == "notice")
    assert notice[3].startswith("forward@other.example: ")


def test_a_delivery_between_soft_bounces_starts_the_count_again(
    runtime: Runtime, memory: MemoryTransport, processor: BounceProcessor
) -> None:
    flows._newsletter(runtime, 1)
    full = {"status": "5.2.2", "diagnostic": "smtp; 552 5.2.2 mailbox full"}
    # Editions 44, 45 bounce soft; 46 arrives; 47, 48 bounce soft: two in a row, not four.
    for number, bounced, expected in [
        (44, True, 1),
        (45, True, 2),
        (46, False, 2),
        (47, True, 1),
        (48, True, 2),
    ]:
        [message] = flows._deliver(runtime, memory, number)
        if bounced:
            outcome = processor.process(flows._bounce(message, **full), message.envelope_from)
            assert outcome.outcome is Outcome.SOFT
        assert _state(runtime, message)[1:] == ("confirmed", expected)
    [message] = flows._deliver(runtime, memory, 49)  # the third in a row: bounced
    processor.process(flows._bounce(message, **full), message.envelope_from)
    assert _state(runtime, message) == ("bounced", "bounced", 3)


def test_bounces_process_reads_postfix_notices_from_files(
    runtime: Runtime, pg_url: str, sent: list[OutgoingMessage], tmp_path: Path
) -> None:
    delayed, mixed = tmp_path / "delayed.eml", tmp_path / "mixed.eml"
    delayed.write_bytes(postfix_dsn("postfix_delayed.eml", sent[2]))
    mixed.write_bytes(postfix_dsn("postfix_mixed.eml", sent[3]))
    env = {"DATABASE_URL": pg_url, "SECRET_KEY": SECRET, "BOUNCE_DOMAIN": DOMAIN}
    result = CliRunner().invoke(
        cli, ["bounces", "process", "--list", str(delayed), str(mixed)], env=env
    )
    assert result.exit_code == 0, result.output
    counts = flows._summary(result.output)
    assert (
        counts["delay notices (recorded, nothing changed)"],
        counts["hard bounces"],
        counts["total"],
    ) == (1, 1, 2)
    assert _state(runtime, sent[2]) == ("sent", "confirmed", 0)
    assert _state(runtime, sent[3])[:2] == ("bounced", "bounced")
    with runtime.sessions() as session:
        kinds = sorted(session.scalars(select(BounceEvent.kind)))
    assert kinds == ["hard", "notice", "notice"]


def test_the_receiver_records_a_delay_notice_without_bouncing(
    runtime: Runtime, sent: list[OutgoingMessage], pg_url: str, tmp_path: Path
) -> None:
    serve = server.ServeProcess(pg_url, server.free_port(), tmp_path)
    try:
        serve.wait_listening()
        delayed, mixed = sent[0], sent[1]
        with smtplib.SMTP("127.0.0.1", serve.port, timeout=10) as relay:
            for message, name in [(delayed, "postfix_delayed.eml"), (mixed, "postfix_mixed.eml")]:
                relay.sendmail("", [message.envelope_from], postfix_dsn(name, message))
        code, out, err = serve.terminate()
    finally:
        serve.kill()
    assert code == 0, err
    assert _state(runtime, delayed) == ("sent", "confirmed", 0)
    assert _state(runtime, mixed)[:2] == ("bounced", "bounced")
    assert sorted(kind for kind, *_ in _events(runtime)) == ["hard", "notice", "notice"]
    assert flows._summary(out)["delay notices (recorded, nothing changed)"] == 1
