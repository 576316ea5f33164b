"""Proofs: "[BOZZA]" in the subject, to any address, straight through the transport.

A proof is not a send: no ledger row, no batch, nothing in the figures; the
audit log keeps who sent it to whom and what the relay answered.
"""

from __future__ import annotations

import email
import email.policy

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from dispatcher.config import Settings
from dispatcher.errors import RelayUnavailableError
from dispatcher.models import AuditEntry, Batch, Delivery, Send
from dispatcher.office.proofs import ProofError, parse_addresses
from dispatcher.transport import create_transport
from dispatcher.transport.memory import MemoryTransport
from tests.smtpd import SmtpServer
from tests.support.admin import Desk, make_desk
from tests.support.data import add_example_edition, add_subscribers

pytestmark = pytest.mark.usefixtures("quick_preflight")


@pytest.fixture
def edition_id(edition_id: int, desk: Desk, newsletter: int) -> int:
    """The shared example edition, with three readers on its list: no proof may reach them."""
    with desk.sessions.begin() as session:
        add_subscribers(session, newsletter, 3)
    return edition_id


def parsed(data: bytes) -> email.message.EmailMessage:
    message = email.message_from_bytes(data, policy=email.policy.default)
    assert isinstance(message, email.message.EmailMessage)
    return message


def test_addresses_are_split_checked_and_limited() -> None:
    assert parse_addresses(" a@example.org, B@Example.ORG;\nc@example.org a@example.org") == [
        "a@example.org",
        "B@example.org",
        "c@example.org",
    ]
    with pytest.raises(ProofError, match="at least one"):
        parse_addresses(" , ")
    with pytest.raises(ProofError, match="not-an-address"):
        parse_addresses("a@example.org, not-an-address")
    with pytest.raises(ProofError, match="at most 10"):
        parse_addresses(" ".join(f"r{i}@example.org" for i in range(11)))


def test_a_proof_goes_to_any_address_with_bozza_and_is_no_send(
    desk: Desk, edition_id: int, memory: MemoryTransport
) -> None:
    with desk.client("editor") as editor:
        answer = editor.post(
            f"/admin/editions/{edition_id}/proofs",
            {"addresses": "direttore@example.net, grafica@example.com"},
        )
        page = editor.http.get(answer.headers["location"]).text

    assert answer.status_code == 303
    assert "Bozza inviata a direttore@example.net" in page
    assert [m.recipient for m in memory.sent] == ["direttore@example.net", "grafica@example.com"]
    first, second = (parsed(m.data) for m in memory.sent)
    assert first["Subject"].startswith("[BOZZA] Cronache da Palazzo Cisterna n. 44")
    assert first["To"] == "direttore@example.net"
    assert first["Message-ID"] != second["Message-ID"]  # clients do not fold two proofs
    assert memory.sent[0].envelope_from == "cronache@cittametropolitana.torino.it"
    with desk.sessions() as session:
        for table in (Send, Delivery, Batch):
            assert session.scalar(select(func.count()).select_from(table)) == 0
        entry = session.scalars(select(AuditEntry).where(AuditEntry.action == "edition.proof"))
        logged = entry.one()
    assert (logged.username, logged.target_id) == ("editor", edition_id)
    assert [r["to"] for r in logged.detail["results"]] == [
        "direttore@example.net",
        "grafica@example.com",
    ]


def test_a_wrong_address_sends_nothing_and_says_why(
    desk: Desk, edition_id: int, memory: MemoryTransport
) -> None:
    with desk.client("editor") as editor:
        answer = editor.post(
            f"/admin/editions/{edition_id}/proofs", {"addresses": "direttore@example.net, boh"}
        )
    assert answer.status_code == 409
    assert "Non posso inviare la bozza" in answer.text
    assert 'value="direttore@example.net, boh"' in answer.text  # kept for correcting
    assert memory.sent == []


def test_a_relay_that_is_down_is_reported(
    desk: Desk, edition_id: int, memory: MemoryTransport
) -> None:
    memory.unavailable = RelayUnavailableError(421, "4.3.2 Service not available")
    with desk.client("editor") as editor:
        answer = editor.post(
            f"/admin/editions/{edition_id}/proofs", {"addresses": "direttore@example.net"}
        )
        page = editor.http.get(answer.headers["location"]).text
    assert "Bozza NON inviata a direttore@example.net: 421 4.3.2 Service not available" in page


def test_a_proof_reaches_a_real_smtp_server(
    smtp_settings: Settings, pg_sessions: sessionmaker[Session], smtpd: SmtpServer, newsletter: int
) -> None:
    desk = make_desk(smtp_settings, pg_sessions, create_transport(smtp_settings.smtp))
    with pg_sessions.begin() as session:
        edition_id = add_example_edition(session, smtp_settings)
    with desk.client("admin") as admin:
        admin.post(f"/admin/editions/{edition_id}/proofs", {"addresses": "capo@example.org"})
    assert smtpd.wait_for(1)
    (received,) = smtpd.accepted
    assert received.rcpt_tos == ("capo@example.org",)
    assert parsed(received.data or b"")["Subject"].startswith("[BOZZA] ")
