"""International addresses, from the import to the relay: SMTPUTF8 where offered, else said.

A CSV names an accented local part, an international domain in Unicode and the same
kind of domain in punycode. The import stores the domains as A-labels and notes the
line whose address needs SMTPUTF8. A send through aiosmtpd then delivers all of them
when the relay offers SMTPUTF8 (the envelope declares it and the To: header is UTF-8,
RFC 6532); when it does not, the ASCII ones still go and the accented one's ledger row
is failed with a reply that says why, without the relay being asked; with pipelining
too, the messages around it go out as usual.
"""

from __future__ import annotations

import email
import email.policy
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from dispatcher.config import SendingSettings, Settings
from dispatcher.sends.batch import run_batch
from dispatcher.sends.runtime import Runtime
from dispatcher.transport import OutcomeKind
from dispatcher.transport.smtp import SmtpTransport
from subscribers.importer import import_csv
from tests.conftest import SECRET
from tests.smtpd import SmtpServer
from tests.support.data import add_example_edition, create_newsletter
from tests.support.sending import ledger_rows, start_send
from tests.support.smtp import (
    FreePortController,
    KeepEnvelopes,
    make_message,
    settings_for,
)

DELIVERED, PERMANENT = OutcomeKind.DELIVERED, OutcomeKind.PERMANENT
POLICY = SendingSettings(batch_size=10, dispatch_window=100, retry_base=60, lease_seconds=30)
PEOPLE = (
    "email;nome\n"
    "plain@example.org;Piana\n"  # line 2
    "jöhn.müller@example.org;Jöhn\n"  # line 3: needs SMTPUTF8
    "lettore@Bücher.de;Unicode\n"  # line 4: stored as an A-label
    "altro@xn--bcher-kva.de;Punycode\n"  # line 5
    "LETTORE@xn--bcher-kva.DE;Duplicate\n"  # line 6: line 4 written in punycode
)
UTF8_ADDRESS = "jöhn.müller@example.org"
ASCII_ADDRESSES = ["plain@example.org", "lettore@xn--bcher-kva.de", "altro@xn--bcher-kva.de"]


@pytest.fixture(params=[True, False], ids=["smtputf8", "ascii-only"])
def relay(request: pytest.FixtureRequest) -> Iterator[tuple[KeepEnvelopes, str, bool]]:
    handler = KeepEnvelopes()
    offered: bool = request.param
    controller = FreePortController(handler, hostname="127.0.0.1", port=0, enable_SMTPUTF8=offered)
    controller.start()
    try:
        yield handler, f"smtp://127.0.0.1:{controller.port}", offered
    finally:
        controller.stop()


def test_international_addresses_go_with_smtputf8_or_fail_saying_why(
    relay: tuple[KeepEnvelopes, str, bool],
    make_settings: Callable[..., Settings],
    pg_url: str,
    pg_sessions: object,
    tmp_path: Path,
) -> None:
    handler, url, offered = relay
    runtime = Runtime(
        make_settings(database_url=pg_url, sending=POLICY),
        lambda: SmtpTransport(settings_for(url, pipelining=False)),
    )
    try:
        csv_file = tmp_path / "soci.csv"
        csv_file.write_text(PEOPLE, encoding="utf-8")
        with runtime.sessions.begin() as session:
            create_newsletter(session)
            report = import_csv(session, csv_file, "cronache", keys=(SECRET,), confirmed=True)
            edition_id = add_example_edition(session, runtime.settings)
        assert report.imported == [2, 3, 4, 5]
        assert [(n.line, n.reason) for n in report.skipped] == [(6, "duplicate")]
        assert [(n.line, n.reason) for n in report.notes] == [(3, "address")]
        assert "SMTPUTF8" in report.notes[0].detail

        queue: list[int] = []
        start_send(runtime.sessions, edition_id, ("cronache",), 100, 10, queue.append)
        while queue:
            run_batch(runtime, queue.pop(0), queue.append)
        rows = {row.subscriber_id: row for row in ledger_rows(runtime.sessions, 1)}
    finally:
        runtime.close()

    arrived = {envelope.rcpt_tos[0]: envelope for envelope in handler.envelopes}
    statuses = sorted(row.status for row in rows.values())
    if offered:
        assert sorted(arrived) == sorted([*ASCII_ADDRESSES, UTF8_ADDRESS])
        assert statuses == ["sent"] * 4
        international = arrived[UTF8_ADDRESS]
        assert "SMTPUTF8" in international.mail_options
        raw = international.original_content or b""
        message = email.message_from_bytes(raw, policy=email.policy.SMTPUTF8)
        assert f"<{UTF8_ADDRESS}>".encode() in raw  # RFC 6532: the header holds UTF-8
        assert str(message["To"]).endswith(f"<{UTF8_ADDRESS}>")
        assert all("SMTPUTF8" not in arrived[a].mail_options for a in ASCII_ADDRESSES)
    else:
        assert sorted(arrived) == sorted(ASCII_ADDRESSES)
        assert statuses == ["failed", "sent", "sent", "sent"]
        failed = next(row for row in rows.values() if row.status == "failed")
        assert "SMTPUTF8" in (failed.smtp_reply or "")
        assert UTF8_ADDRESS in (failed.smtp_reply or "")


@pytest.mark.parametrize("pipelining", [True, False])
def test_a_relay_without_smtputf8_is_not_asked_and_the_others_still_go(pipelining: bool) -> None:
    messages = [make_message(1), make_message(2, recipient=UTF8_ADDRESS), make_message(3)]
    with SmtpServer(pipelining=pipelining) as server:
        transport = SmtpTransport(settings_for(server.url))
        outcomes = list(transport.deliver(messages))
        transport.close()
        assert server.wait_for(2)
        arrived = [m.rcpt_tos for m in server.accepted]
    assert [o.kind for o in outcomes] == [DELIVERED, PERMANENT, DELIVERED]
    assert "SMTPUTF8" in outcomes[1].reply
    assert arrived == [("r1@example.org",), ("r3@example.org",)]
