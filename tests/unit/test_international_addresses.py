"""One rule for international addresses: stored canonical, written as RFC 6532 says.

The import, the sign-up form and the sender share :mod:`subscribers.addresses`: an
international domain is stored as its A-label whichever way it was typed, a local part
that is not ASCII is kept and flagged as needing SMTPUTF8, and the message core writes
such an address as UTF-8 in the To: header while the SMTP envelope carries it only with
SMTPUTF8 declared.
"""

from __future__ import annotations

import email
import email.policy

import pytest

from dispatcher.editions.newsletter import load_newsletter_settings
from dispatcher.errors import MessageError
from dispatcher.message.personalise import Personaliser, Recipient
from dispatcher.message.template import build_template, format_date
from dispatcher.office.confirmation import ConfirmationMail, MailKind, RenderedMail, build_message
from dispatcher.transport.smtp_wire import check_address, envelope_commands
from subscribers.addresses import needs_smtputf8, normalise, wire_address
from tests.fuzz.test_message_building import SIGNER, content
from tests.support.data import NEWSLETTER_FILE


@pytest.mark.parametrize(
    ("typed", "stored"),
    [
        ("lettore@bücher.de", "lettore@xn--bcher-kva.de"),
        ("lettore@xn--bcher-kva.de", "lettore@xn--bcher-kva.de"),
        ("Lettore@BÜCHER.DE", "Lettore@xn--bcher-kva.de"),
        ("<lettore@Xn--Bcher-Kva.De>", "lettore@xn--bcher-kva.de"),
        ("jöhn@example.org", "jöhn@example.org"),
        ("jo\u0308hn@bücher.de", "jöhn@xn--bcher-kva.de"),  # NFC: one ö, not o + diaeresis
    ],
)
def test_an_address_is_stored_in_one_canonical_form(typed: str, stored: str) -> None:
    assert normalise(typed) == stored
    assert wire_address(stored) == stored


def test_only_a_local_part_that_is_not_ascii_needs_smtputf8() -> None:
    assert needs_smtputf8("jöhn@example.org")
    assert not needs_smtputf8(normalise("lettore@bücher.de"))


def test_an_address_stored_before_the_canonical_form_goes_out_as_an_a_label() -> None:
    assert wire_address("lettore@bücher.de") == "lettore@xn--bcher-kva.de"


def build(address: str) -> tuple[str, bytes]:
    personaliser = Personaliser(build_template(content("Oggetto"), "seed"), SIGNER, 7, "b.org")
    message = personaliser.message(Recipient(42, 9, 3, address, "Jöhn"), format_date(0))
    return message.recipient, message.data


def test_a_utf8_local_part_is_written_as_utf8_in_the_to_header() -> None:
    recipient, raw = build("jöhn@bücher.de")
    assert recipient == "jöhn@xn--bcher-kva.de"
    to = [line for line in raw.split(b"\r\n") if line.startswith(b"To:")]
    assert to == [b"To: =?utf-8?b?SsO2aG4=?= <j\xc3\xb6hn@xn--bcher-kva.de>"]
    parsed = email.message_from_string(raw.decode("utf-8"), policy=email.policy.SMTPUTF8)
    assert parsed["To"].addresses[0].addr_spec == "jöhn@xn--bcher-kva.de"


@pytest.mark.parametrize(
    "address",
    ["jöhn\u2028x@example.org", "jö\x85hn@example.org", "jö hn@example.org", "jö..hn@x.org"],
)
def test_a_utf8_address_with_separators_or_controls_is_still_refused(address: str) -> None:
    with pytest.raises(MessageError):
        build(address)


def test_the_envelope_carries_utf8_only_with_smtputf8_declared() -> None:
    with pytest.raises(ValueError, match="SMTPUTF8"):
        check_address("jöhn@example.org", "recipient")
    recipient = check_address("jöhn@example.org", "recipient", smtputf8=True)
    assert recipient == "jöhn@example.org".encode()
    mail, rcpt, _ = envelope_commands(b"b-1@b.org", recipient, smtputf8=True)
    assert mail == b"MAIL FROM:<b-1@b.org> SMTPUTF8\r\n"
    assert rcpt == b"RCPT TO:<j\xc3\xb6hn@example.org>\r\n"


def test_a_confirmation_mail_follows_the_same_rule() -> None:
    newsletter = load_newsletter_settings(NEWSLETTER_FILE)
    mail = ConfirmationMail(MailKind.CONFIRM, "jöhn@Bücher.de", "it", newsletter, "https://x/c/1")
    message = build_message(mail, RenderedMail("Conferma", "<p>Ciao</p>", "Ciao"), 0)
    assert message.recipient == "jöhn@xn--bcher-kva.de"
    assert b"\r\nTo: j\xc3\xb6hn@xn--bcher-kva.de\r\n" in message.data
    ascii_mail = ConfirmationMail(MailKind.CONFIRM, "l@Bücher.de", "it", newsletter, "x")
    assert build_message(ascii_mail, RenderedMail("C", "<p>C</p>", "C"), 0).data.isascii()
