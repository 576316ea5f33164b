"""The bounce receiver over real sockets: ``dispatcher bounces serve`` and the server object.

The command runs as a subprocess on a free port, against the run's PostgreSQL;
bounces for deliveries made through the real ledger are handed to it with
smtplib, as the relay would, and the test reads the ledger and subscriptions.
"""

from __future__ import annotations

import os
import signal
import smtplib
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from sqlalchemy import select

from dispatcher.bounces.apply import Policy
from dispatcher.bounces.intake import BounceProcessor
from dispatcher.bounces.server import BounceHandler, BounceServer
from dispatcher.config import SendingSettings
from dispatcher.db import create_db_engine, create_session_factory
from dispatcher.message.outgoing import OutgoingMessage
from dispatcher.models import BounceEvent, Delivery
from dispatcher.sends.runtime import Runtime
from dispatcher.transport.memory import MemoryTransport
from subscribers.models import Subscription, Suppression
from subscribers.tokens import Purpose
from tests.conftest import SECRET
from tests.smtpd import unused_port
from tests.support.bounces import build_arf, build_dsn, build_unsubscribe_mail
from tests.support.sending import edition_for, send_everything, wait_until

pytestmark = pytest.mark.integration

REPO = Path(__file__).resolve().parents[2]
DOMAIN = "bounces.example.org"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def listening(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), 0.5):
            return True
    except OSError:
        return False


@pytest.fixture
def runtime(make_runtime: Callable[..., Runtime]) -> Runtime:
    return make_runtime(sending=SendingSettings(batch_size=10), bounce_domain=DOMAIN)


@pytest.fixture
def sent(runtime: Runtime, memory: MemoryTransport) -> list[OutgoingMessage]:
    """Four readers who got the example edition: their messages, with VERP and mailto."""
    return send_everything(runtime, memory, edition_for(runtime, 4))


class ServeProcess:
    """``dispatcher bounces serve`` in a subprocess, stopped with SIGTERM."""

    def __init__(self, pg_url: str, port: int, workdir: Path) -> None:
        env = {
            **os.environ,
            "DATABASE_URL": pg_url,
            "SECRET_KEY": SECRET,
            "BOUNCE_DOMAIN": DOMAIN,
            "BOUNCE_MAIL_DIR": str(workdir / "mail"),
        }
        args = [
            sys.executable, "-c", "from dispatcher.cli import main; main()",
            "bounces", "serve", "--port", str(port), "--also", "fbl",
            "--quarantine", str(workdir / "quarantine"),
        ]  # fmt: skip
        self.process = subprocess.Popen(
            args, cwd=REPO, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
        )
        self.port = port

    def wait_listening(self, timeout: float = 30) -> None:
        if not wait_until(lambda: listening(self.port) or self.process.poll() is not None, timeout):
            raise TimeoutError("bounces serve did not start")
        if self.process.poll() is not None:
            raise RuntimeError(f"bounces serve exited: {self.process.communicate()}")

    def terminate(self, timeout: float = 20) -> tuple[int, str, str]:
        self.process.send_signal(signal.SIGTERM)
        out, err = self.process.communicate(timeout=timeout)
        return self.process.returncode, out, err

    def kill(self) -> None:
        if self.process.poll() is None:
            self.process.kill()
            self.process.communicate()


@pytest.fixture
def serve(pg_url: str, tmp_path: Path) -> Iterator[ServeProcess]:
    server = ServeProcess(pg_url, free_port(), tmp_path)
    try:
        server.wait_listening()
        yield server
    finally:
        server.kill()


def _row(runtime: Runtime, message: OutgoingMessage) -> tuple[str, str]:
    """(delivery status, subscription status) of a message's row."""
    with runtime.sessions() as session:
        row = session.get_one(Delivery, message.delivery_id)
        status = session.scalar(
            select(Subscription.status).where(
                Subscription.subscriber_id == row.subscriber_id,
                Subscription.list_id == row.list_id,
            )
        )
        return row.status, status or ""


def _mailto(message: OutgoingMessage) -> str:
    start = message.data.index(b"mailto:u-") + len(b"mailto:")
    return message.data[start : message.data.index(b"?", start)].decode()


def test_serve_records_what_the_relay_hands_it_and_stops_on_sigterm(
    runtime: Runtime, sent: list[OutgoingMessage], serve: ServeProcess, tmp_path: Path
) -> None:
    hard, soft, unsubscribed, complained = sent
    forged = f"b-{runtime.signer.sign(Purpose.UNSUBSCRIBE, 1, 1)}@{DOMAIN}"  # wrong purpose
    with smtplib.SMTP("127.0.0.1", serve.port, timeout=10) as relay:
        relay.sendmail("", [f"postmaster@{DOMAIN}"], b"Subject: hi\r\n\r\nhi\r\n")  # kept
        with pytest.raises(smtplib.SMTPRecipientsRefused):
            relay.sendmail("", [hard.envelope_from.replace(DOMAIN, "elsewhere.example")], b"x")
        for message, raw in [
            (hard, build_dsn(hard.data, to=hard.envelope_from, recipient=hard.recipient)),
            (soft, build_dsn(soft.data, to=soft.envelope_from, recipient=soft.recipient,
                             action="delayed", status="4.4.1")),
        ]:  # fmt: skip
            relay.sendmail("", [message.envelope_from], raw)
        mailto = _mailto(unsubscribed)
        relay.sendmail(hard.recipient, [mailto], build_unsubscribe_mail(mailto, hard.recipient))
        report = build_arf(complained.data, to=f"fbl@{DOMAIN}", mail_from=complained.envelope_from)
        relay.sendmail("feedback@fbl.example.net", [f"fbl@{DOMAIN}"], report)
        with pytest.raises(smtplib.SMTPRecipientsRefused) as refused:  # at RCPT, before DATA
            relay.sendmail("", [forged], build_dsn(hard.data, to=forged, recipient=hard.recipient))
        assert refused.value.recipients[forged][0] == 550
        relay.sendmail("", [soft.envelope_from], b"\x00\x01 garbage\r\n")  # unparsable: 250
    assert _row(runtime, hard) == ("bounced", "bounced")
    assert _row(runtime, soft) == ("sent", "confirmed")  # a delay notice changes nothing
    assert _row(runtime, unsubscribed) == ("sent", "unsubscribed")
    assert _row(runtime, complained) == ("complained", "unsubscribed")
    with runtime.sessions() as session:
        kinds = sorted(session.scalars(select(BounceEvent.kind)))
        reasons = sorted(session.scalars(select(Suppression.reason)))
    assert kinds == ["complaint", "hard", "notice", "unsubscribe"]
    assert reasons == ["complaint", "hard_bounce"]
    assert len(list((tmp_path / "quarantine").iterdir())) == 1
    assert len(list((tmp_path / "mail" / "postmaster").iterdir())) == 1

    code, out, err = serve.terminate()
    assert code == 0, err
    summary = {line.rsplit(" ", 1)[0].strip(): line.rsplit(" ", 1)[1] for line in out.splitlines()}
    assert summary["forged (ignored)"] == "0" and summary["unparsable"] == "1"
    assert summary["total"] == "5"


def test_lmtp_answers_once_per_recipient(runtime: Runtime, sent: list[OutgoingMessage]) -> None:
    policy = Policy((SECRET,))
    processor = BounceProcessor(runtime.sessions, runtime.signer, policy, frozenset({DOMAIN}))
    server = BounceServer(BounceHandler(processor, lmtp=True), "127.0.0.1", free_port())
    first, second = sent[0], sent[1]
    raw = build_dsn(first.data, to=first.envelope_from, recipient=first.recipient)
    with server, smtplib.LMTP("127.0.0.1", server.port, timeout=10) as relay:
        relay.sendmail("", [first.envelope_from, second.envelope_from], raw)
        code, _ = relay.getreply()  # smtplib reads only the first recipient's reply
        assert code == 250
    assert _row(runtime, first) == ("bounced", "bounced")
    assert _row(runtime, second)[0] == "bounced"  # the same DSN, to the second VERP address


def test_a_database_failure_answers_451_so_the_relay_retries(
    runtime: Runtime, sent: list[OutgoingMessage]
) -> None:
    with unused_port() as dead:
        engine = create_db_engine(f"postgresql+psycopg://postgres@127.0.0.1:{dead}/none")
        sessions = create_session_factory(engine)
        processor = BounceProcessor(
            sessions, runtime.signer, Policy((SECRET,)), frozenset({DOMAIN})
        )
        message = sent[0]
        raw = build_dsn(message.data, to=message.envelope_from, recipient=message.recipient)
        server = BounceServer(BounceHandler(processor), "127.0.0.1", free_port())
        started = time.monotonic()
        with server, smtplib.SMTP("127.0.0.1", server.port, timeout=30) as relay:
            with pytest.raises(smtplib.SMTPDataError) as failed:
                relay.sendmail("", [message.envelope_from], raw)
        assert failed.value.smtp_code == 451
        assert time.monotonic() - started < 30
        engine.dispose()
    assert _row(runtime, message) == ("sent", "confirmed")
