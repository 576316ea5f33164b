"""``dispatcher send ID --list SLUG --dry-run --out DIR`` through a real Celery worker.

Issue 14, part 4. The command writes one ``.eml`` per recipient into DIR and a report,
sends nothing to the SMTP server, and leaves the real send and its "already sent"
guard untouched: the real send afterwards reaches everyone once. The report says who
was left out and why (suppressed, not confirmed, already received).
"""

from __future__ import annotations

import email
import email.policy
import json
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner, Result
from sqlalchemy import update
from sqlalchemy.orm import Session, sessionmaker

from dispatcher.cli.main import cli
from dispatcher.config import Settings
from dispatcher.sends import audience
from dispatcher.worker.tasks import enqueue_batch
from subscribers.models import Subscriber
from subscribers.service import get_list
from subscribers.suppression import SuppressionReason, suppress
from tests.smtpd import SmtpServer
from tests.support.data import add_example_edition, add_subscribers, address, create_newsletter
from tests.support.sending import assert_finished, ledger_rows, start_send
from tests.support.worker import WorkerProcess, settings_env

pytestmark = [pytest.mark.integration, pytest.mark.sending(batch_size=3)]

READERS = 7  # confirmed; reader 5 is suppressed, reader 6 reads in English
PENDING = 2  # readers 7 and 8 never confirmed


@pytest.fixture
def smtpd() -> Iterator[SmtpServer]:
    with SmtpServer(pipelining=True) as server:
        yield server


@pytest.fixture
def edition_id(pg_sessions: sessionmaker[Session], settings: Settings) -> int:
    with pg_sessions.begin() as session:
        list_id = create_newsletter(session).id
        add_subscribers(session, list_id, READERS)
        add_subscribers(session, list_id, PENDING, start=READERS, status="pending")
        suppress(session, settings.all_secret_keys, address(5), SuppressionReason.MANUAL)
        session.execute(
            update(Subscriber).where(Subscriber.email == address(6)).values(language="en")
        )
        return add_example_edition(session, settings)


def _dry_run(settings: Settings, edition_id: int, out: Path) -> Result:
    args = ["send", str(edition_id), "--list", "cronache", "--dry-run", "--out", str(out)]
    result = CliRunner().invoke(cli, [*args, "--timeout", "60"], env=settings_env(settings))
    assert result.exit_code == 0, result.output
    return result


def _recipient(path: Path) -> str:
    parsed = email.message_from_bytes(path.read_bytes(), policy=email.policy.SMTP)
    assert parsed["Subject"] and parsed.get_body(("plain",)) is not None
    return str(parsed["To"].addresses[0].addr_spec)


def test_a_dry_run_writes_every_message_sends_none_and_the_real_send_reaches_everyone_once(
    pg_sessions: sessionmaker[Session],
    settings: Settings,
    smtpd: SmtpServer,
    worker: WorkerProcess,
    edition_id: int,
    tmp_path: Path,
) -> None:
    out = tmp_path / "dry"
    result = _dry_run(settings, edition_id, out)

    reached = [address(i) for i in range(5)] + [address(6)]
    files = sorted(out.glob("*.eml"))
    assert sorted(_recipient(path) for path in files) == sorted(reached), result.output
    assert smtpd.messages == []
    report = json.loads((out / "report.json").read_text())
    assert (report["state"], report["written"], report["pending"]) == ("finished", 6, 0)
    assert report["by_language"] == {"en": 1, "it": 5}
    assert report["bytes"]["smallest"] > 1000
    left_out = {row["email"]: row["reason"] for row in report["left_out"]}
    assert left_out == {
        address(5): audience.SKIP_SUPPRESSED,
        address(7): audience.SKIP_UNCONFIRMED,
        address(8): audience.SKIP_UNCONFIRMED,
    }
    assert "left out, " + audience.SKIP_UNCONFIRMED + ": 2" in (out / "report.txt").read_text()

    # The real send is not refused as "already sent", and reaches everyone once.
    window, size = settings.sending.dispatch_window, settings.sending.batch_size
    real = start_send(pg_sessions, edition_id, ("cronache",), window, size, enqueue_batch)
    assert_finished(pg_sessions, real, worker, timeout=60)
    received = Counter(rcpt for message in smtpd.accepted for rcpt in message.rcpt_tos)
    assert received == Counter(dict.fromkeys(reached, 1))
    assert {row.status for row in ledger_rows(pg_sessions, real)} == {"sent", "skipped"}


def test_after_the_real_send_a_dry_run_names_who_already_received_it(
    pg_sessions: sessionmaker[Session],
    settings: Settings,
    smtpd: SmtpServer,
    worker: WorkerProcess,
    edition_id: int,
    tmp_path: Path,
) -> None:
    window, size = settings.sending.dispatch_window, settings.sending.batch_size
    real = start_send(pg_sessions, edition_id, ("cronache",), window, size, enqueue_batch)
    assert_finished(pg_sessions, real, worker, timeout=60)
    with pg_sessions.begin() as session:
        add_subscribers(session, get_list(session, "cronache").id, 1, start=20)
    sent_before = len(smtpd.messages)

    _dry_run(settings, edition_id, tmp_path / "after")

    report = json.loads((tmp_path / "after" / "report.json").read_text())
    assert [row["email"] for row in report["messages"]] == [address(20)]
    reasons = Counter(row["reason"] for row in report["left_out"])
    assert reasons == Counter(
        {audience.SKIP_RECEIVED: 6, audience.SKIP_UNCONFIRMED: 2, audience.SKIP_SUPPRESSED: 1}
    )
    assert len(smtpd.messages) == sent_before
