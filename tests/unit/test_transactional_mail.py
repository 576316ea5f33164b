"""The sign-up's transactional mails, built by the message core's one builder."""

from __future__ import annotations

import email
import email.policy
from email.message import EmailMessage
from pathlib import Path

from dispatcher.editions.newsletter import load_newsletter_settings
from dispatcher.message.template import MAX_LINE_OCTETS
from dispatcher.office.confirmation import (
    ConfirmationMail,
    MailKind,
    build_message,
    render_mail,
)

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "cronache.toml"
WEEK = 7 * 86400
LINK = "https://newsletter.example.org/conferma/AbC.dEf_123-xyz=="


def _mail(kind: MailKind = MailKind.CONFIRM, language: str = "it") -> ConfirmationMail:
    newsletter = load_newsletter_settings(EXAMPLE)
    return ConfirmationMail(kind, "mario.rossi@example.org", language, newsletter, LINK)


def _parsed(data: bytes) -> EmailMessage:
    parsed = email.message_from_bytes(data, policy=email.policy.default)
    assert isinstance(parsed, EmailMessage)
    return parsed


def test_a_confirmation_is_a_transactional_message_without_list_headers() -> None:
    mail = _mail()
    outgoing = build_message(mail, render_mail(mail, WEEK), 0.0)
    parsed = _parsed(outgoing.data)
    assert parsed["To"] == "mario.rossi@example.org"
    assert parsed["Auto-Submitted"] == "auto-generated"
    assert b"\r\nDate: Thu, 01 Jan 1970 00:00:00 GMT\r\n" in b"\r\n" + outgoing.data
    assert parsed["Message-ID"] == outgoing.message_id
    assert outgoing.message_id.startswith("<confirm.")
    assert "List-Unsubscribe" not in parsed and "List-Id" not in parsed
    assert parsed["Subject"] == "Conferma l'iscrizione a " + mail.newsletter.name
    assert parsed.get_content_type() == "multipart/alternative"


def test_its_parts_carry_the_link_and_its_bytes_are_fit_for_smtp() -> None:
    mail = _mail(MailKind.ALREADY, "en")
    rendered = render_mail(mail, WEEK)
    outgoing = build_message(mail, rendered, 0.0)
    parsed = _parsed(outgoing.data)
    text, html = parsed.get_body(("plain",)), parsed.get_body(("html",))
    assert isinstance(text, EmailMessage) and isinstance(html, EmailMessage)
    assert LINK in text.get_content() and LINK in html.get_content()
    assert text.get_content().replace("\r\n", "\n") == rendered.text
    assert parsed["Subject"] == "You are already subscribed to " + mail.newsletter.name
    assert outgoing.data.endswith(b"\r\n") and outgoing.dot_safe
    for line in outgoing.data.split(b"\r\n"):
        assert len(line) <= MAX_LINE_OCTETS and b"\n" not in line and b"\r" not in line
        assert not line.startswith(b".")


def test_every_confirmation_has_its_own_message_id() -> None:
    mail = _mail()
    rendered = render_mail(mail, WEEK)
    first, second = (build_message(mail, rendered, 0.0) for _ in range(2))
    assert first.message_id != second.message_id
    assert first.delivery_id < 0 and second.delivery_id < 0
