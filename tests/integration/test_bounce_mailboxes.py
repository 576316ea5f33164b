"""The receiver's mail for people, its RCPT-time token check, its quotas and its logs.

Over real sockets (the receiver in a thread, smtplib as the relay), with real
folders on disk and deliveries made through the real ledger on PostgreSQL.
"""

from __future__ import annotations

import logging
import smtplib
from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner

from dispatcher.bounces.apply import Policy
from dispatcher.bounces.intake import BounceProcessor
from dispatcher.bounces.mailfolder import MailFolder, Quota
from dispatcher.bounces.server import PEOPLE, BounceHandler, BounceServer
from dispatcher.cli.main import cli
from dispatcher.message.outgoing import OutgoingMessage
from dispatcher.sends.runtime import Runtime
from subscribers.tokens import Purpose
from tests.conftest import SECRET
from tests.integration import test_bounce_server as base
from tests.unit.test_bounce_parsing import build_dsn, build_unsubscribe_mail

pytestmark = pytest.mark.integration

DOMAIN = base.DOMAIN
NOTE = b"From: someone@isp.example\r\nSubject: your newsletter\r\n\r\nPlease look.\r\n"

runtime = base.runtime
sent = base.sent


class Receiver:
    """A receiver in this process, with its people's folders and quarantine in ``root``."""

    def __init__(self, runtime: Runtime, root: Path, quota: Quota, lmtp: bool = False) -> None:
        self.folders = {name: MailFolder(root / name, quota) for name in (*PEOPLE, "quarantine")}
        policy = Policy((SECRET,))
        self.processor = BounceProcessor(
            runtime.sessions,
            runtime.signer,
            policy,
            frozenset({DOMAIN}),
            quarantine=self.folders["quarantine"],
        )
        people = {name: self.folders[name] for name in PEOPLE}
        handler = BounceHandler(self.processor, lmtp=lmtp, people=people)
        self.server = BounceServer(handler, "127.0.0.1", base.free_port())

    def files(self, name: str) -> list[Path]:
        return sorted((self.folders[name].path).glob("*.eml"))


@pytest.fixture
def receiver(runtime: Runtime, tmp_path: Path) -> Iterator[Receiver]:
    found = Receiver(runtime, tmp_path / "mail", Quota(messages=3, megabytes=1))
    with found.server:
        yield found


def _relay(receiver: Receiver) -> smtplib.SMTP:
    return smtplib.SMTP("127.0.0.1", receiver.server.port, timeout=10)


def test_postmaster_and_abuse_are_accepted_and_kept_for_a_person(
    receiver: Receiver, pg_url: str, tmp_path: Path
) -> None:
    with _relay(receiver) as relay:
        for rcpt in (f"postmaster@{DOMAIN}", f"PostMaster@{DOMAIN.upper()}", "postmaster"):
            relay.sendmail("someone@isp.example", [rcpt], NOTE)
        relay.sendmail("someone@isp.example", [f"abuse@{DOMAIN}"], NOTE)
        for stranger in ("postmaster@elsewhere.example", "abuse", f"webmaster@{DOMAIN}"):
            with pytest.raises(smtplib.SMTPRecipientsRefused) as refused:
                relay.sendmail("someone@isp.example", [stranger], NOTE)
            assert refused.value.recipients[stranger][0] == 550
    assert len(receiver.files("postmaster")) == 3 and len(receiver.files("abuse")) == 1
    assert receiver.files("abuse")[0].read_bytes() == NOTE
    assert receiver.processor.summary.total == 0  # kept for people, never read as bounces
    env = {"DATABASE_URL": pg_url, "SECRET_KEY": SECRET, "BOUNCE_MAIL_DIR": str(tmp_path / "mail")}
    listing = CliRunner().invoke(cli, ["bounces", "mail"], env=env)
    assert listing.exit_code == 0, listing.output
    assert "postmaster: 3 message(s)" in listing.output
    assert "abuse: 1 message(s)" in listing.output
    assert listing.output.count("your newsletter") == 4


def test_a_forged_or_altered_token_gets_550_at_rcpt_before_any_data(
    receiver: Receiver, runtime: Runtime, sent: list[OutgoingMessage]
) -> None:
    good = sent[0].envelope_from
    token = good[2 : good.index("@")]
    altered = f"b-{token[:-1]}{'0' if token[-1] != '0' else '1'}@{DOMAIN}"
    wrong_purpose = f"b-{runtime.signer.sign(Purpose.UNSUBSCRIBE, 1, 1)}@{DOMAIN}"
    forged_mailto = f"u-{runtime.signer.sign(Purpose.BOUNCE, 1)}@{DOMAIN}"
    with _relay(receiver) as relay:
        relay.ehlo()
        relay.mail("")
        for address in (altered, wrong_purpose, forged_mailto):
            code, reply = relay.rcpt(address)
            assert code == 550, reply
            assert token not in reply.decode()
        assert relay.rcpt(good)[0] == 250
        relay.rset()
        with pytest.raises(smtplib.SMTPRecipientsRefused):
            relay.sendmail("", [altered], build_dsn(sent[0].data, to=altered, recipient="x@y.z"))
    assert receiver.processor.summary.total == 0  # nothing was taken, nothing was read


def test_a_full_people_folder_answers_452_at_rcpt_until_it_is_emptied(
    receiver: Receiver,
) -> None:
    address = f"postmaster@{DOMAIN}"
    with _relay(receiver) as relay:
        for _ in range(3):
            relay.sendmail("someone@isp.example", [address], NOTE + b"x" * _)
        with pytest.raises(smtplib.SMTPRecipientsRefused) as refused:
            relay.sendmail("someone@isp.example", [address], NOTE + b"more")
        assert refused.value.recipients[address][0] == 452
        receiver.files("postmaster")[0].unlink()  # the operator reads and deletes one
        relay.sendmail("someone@isp.example", [address], NOTE + b"more")
    assert len(receiver.files("postmaster")) == 3


def test_a_full_people_folder_by_size_answers_452(runtime: Runtime, tmp_path: Path) -> None:
    receiver = Receiver(runtime, tmp_path, Quota(messages=100, megabytes=1))
    big = NOTE + (b"y" * 98 + b"\r\n") * 7_300  # 715 KiB in lines of 100 octets
    with receiver.server, _relay(receiver) as relay:
        relay.sendmail("someone@isp.example", [f"abuse@{DOMAIN}"], big)
        with pytest.raises(smtplib.SMTPDataError) as refused:  # room at RCPT, not for this size
            relay.sendmail("someone@isp.example", [f"abuse@{DOMAIN}"], big)
        assert refused.value.smtp_code == 452
        relay.sendmail("someone@isp.example", [f"abuse@{DOMAIN}"], NOTE)  # a short one fits
    kept = sorted(len(path.read_bytes()) for path in receiver.files("abuse"))
    assert kept == [len(NOTE), len(big)]


def test_a_full_quarantine_takes_unreadable_mail_and_drops_it_with_a_log_line(
    receiver: Receiver, sent: list[OutgoingMessage], caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING, logger="dispatcher")
    with _relay(receiver) as relay:
        for number in range(5):
            reply = relay.sendmail("", [sent[0].envelope_from], b"\x00\x01 garbage %d\r\n" % number)
            assert reply == {}  # 250 for every one: refusing would only make the relay retry
    assert len(receiver.files("quarantine")) == 3
    said = [r.getMessage() for r in caplog.records]
    dropped = [text for text in said if "unreadable message was dropped" in text]
    assert len(dropped) == 2
    assert str(receiver.folders["quarantine"].path) in dropped[0]


def test_logs_never_carry_a_whole_token(
    receiver: Receiver,
    runtime: Runtime,
    sent: list[OutgoingMessage],
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG)
    forged = f"b-{runtime.signer.sign(Purpose.PREFERENCES, 1)}@{DOMAIN}"
    mailto = base._mailto(sent[1])
    with _relay(receiver) as relay:
        message = sent[0]
        raw = build_dsn(message.data, to=message.envelope_from, recipient=message.recipient)
        relay.sendmail("", [message.envelope_from], raw)
        relay.sendmail(message.recipient, [mailto], build_unsubscribe_mail(mailto))
        with pytest.raises(smtplib.SMTPRecipientsRefused):
            relay.sendmail("", [forged], raw)
        relay.sendmail("", [sent[2].envelope_from], b"\x00 unreadable\r\n")
    tokens = [a[2 : a.index("@")] for a in (forged, mailto, *(m.envelope_from for m in sent))]
    logged = "\n".join(r.getMessage() for r in caplog.records)
    assert "b-" in logged and "u-" in logged  # the addresses are logged, shortened
    assert [t for t in tokens if t in logged] == []
    assert [t[:8] for t in tokens[:3] if t[:8] not in logged] == []
