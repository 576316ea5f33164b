"""Message building under fuzzing: any subject, name or address gives a sound message or none.

Subjects and display names come from editors and subscribers: any Unicode, with CR,
LF, NUL, direction marks, emoji, encoded-word look-alikes, and very long. The filled
message must parse with the standard library, have exactly one From, To and Subject
(a line break can never add a header), keep every line within 998 octets, end lines
with CRLF only and start none with a dot; the subject and name decode to what was
given, control characters collapsed to spaces. Hostile addresses raise MessageError.
"""

from __future__ import annotations

import email
import email.policy
import email.utils
import re
from email.header import decode_header, make_header
from email.message import EmailMessage

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st
from hypothesis.provisional import domains

from dispatcher.errors import MessageError
from dispatcher.message import headers
from dispatcher.message.personalise import Personaliser, Recipient
from dispatcher.message.slots import Slot
from dispatcher.message.template import MAX_LINE_OCTETS, MessageContent, build_template, format_date
from subscribers.addresses import wire_address
from subscribers.tokens import Signer
from tests.fuzz.strategies import any_char, awkward_text

SIGNER = Signer(["k-current"])
#: Valid addresses, on domains within the 253 characters RFC 1035 allows a name to
#: have (Hypothesis' default also makes 254- and 255-character ones).
addresses = st.emails(domains=domains(max_length=253))
PUBLIC = "https://newsletter.example.org"
HEADER_NAMES = {
    "Date", "From", "To", "Subject", "Message-ID", "MIME-Version", "List-Id",
    "List-Unsubscribe", "List-Unsubscribe-Post", "Content-Type",
}  # fmt: skip

#: Free text as people type it, and as attackers write it.
hostile_text = st.one_of(
    awkward_text,
    st.text(any_char, max_size=60),
    st.sampled_from(
        (
            "Hi\r\nBcc: evil@example.net",
            "x\nTo: evil@example.net\n\nbody",
            "=?utf-8?q?Falso?=",
            "=?utf-8?b?RmFsc28=?= vero",
            '"Rossi, Mario" <mario@example.org>',
            "\u202eoihcraM\u202c",
            ".",
            "\r\n.\r\n",
            "From nowhere",
            "\\",
            '\\"',
        )
    ),
    st.builds(lambda c, n: c * n, st.sampled_from('aé 😀,"=?'), st.integers(70, 3000)),
    st.lists(
        st.sampled_from(("Città", "metropolitana", "😀", "\u200f", "x" * 80)), max_size=40
    ).map(" ".join),
)

HOSTILE_ADDRESSES = (
    "a@example.org>\r\nBcc: evil@example.net",
    "a@example.org\r\n",
    "a@example.org\n",
    "a@example.org\x00",
    "<a@example.org>",
    "Mario <a@example.org>",
    "a b@example.org",
    "a@exa mple.org",
    "a,b@example.org",
    "a@example.org,b@example.org",
    "a;b@example.org",
    '"a"@example.org',
    "a(comment)@example.org",
    ".a@example.org",
    "a..b@example.org",
    "a@example..org",
    "@example.org",
    "a@",
    "a",
    "",
    "a" * 65 + "@example.org",
    "a@" + "b" * 254,
    "a@b@example.org",
    "a@[127.0.0.1]",
)


def content(subject: str, from_name: str = "Cronache da Palazzo Cisterna") -> MessageContent:
    """A small message whose parts hold both body slots (the headers are what is fuzzed)."""
    text = f"Ciao.\nAnnulla: {PUBLIC}/u/{Slot.UNSUBSCRIBE_TOKEN.sentinel}\n.riga\n"
    html = (
        f'<p>Ciao.</p><a href="{PUBLIC}/u/{Slot.UNSUBSCRIBE_TOKEN.sentinel}">Annulla</a>'
        f'<a href="{PUBLIC}/p/{Slot.PREFERENCES_TOKEN.sentinel}">Preferenze</a>'
    )
    return MessageContent(
        subject=subject,
        text=text,
        html=html,
        from_name=from_name,
        from_address="cronache@cittametropolitana.torino.it",
        reply_to=None,
        list_name="Cronache da Palazzo Cisterna",
        list_identifier="cronache.cittametropolitana.torino.it",
        unsubscribe_url_prefix=f"{PUBLIC}/u/",
        unsubscribe_mailto_domain="bounces.example.org",
    )


def build(subject: str, name: str, address: str, from_name: str = "Cronache") -> bytes:
    template = build_template(content(subject, from_name), "seed")
    personaliser = Personaliser(template, SIGNER, 7, "bounces.example.org")
    return personaliser.message(Recipient(42, 9, 3, address, name), format_date(0)).data


def parse(raw: bytes) -> EmailMessage:
    message = email.message_from_bytes(raw, policy=email.policy.default)
    assert isinstance(message, EmailMessage)
    assert not message.defects, message.defects
    return message


def check_wire_format(raw: bytes) -> None:
    """CRLF only, no line too long, no line that SMTP would read as the end of DATA."""
    assert b"\n" not in raw.replace(b"\r\n", b"") and b"\r" not in raw.replace(b"\r\n", b"")
    for line in raw.split(b"\r\n"):
        assert len(line) <= MAX_LINE_OCTETS, len(line)
        assert not line.startswith(b".")


def check_one_of_each_header(message: EmailMessage) -> None:
    assert set(message.keys()) == HEADER_NAMES, message.keys()
    for name in HEADER_NAMES:
        assert len(message.get_all(name) or ()) == 1, name


def mailbox_of(raw: bytes, header: str) -> tuple[str, str]:
    """The display name and address of a header, decoded as RFC 2047 says.

    Readers drop the white space between adjacent encoded words; the standard library's
    modern parser adds a space there in addresses, so the older functions are used.
    """
    folded = email.message_from_bytes(raw, policy=email.policy.compat32)[header]
    name, address = email.utils.parseaddr(re.sub(r"\r\n(?=[ \t])", "", str(folded)))
    return str(make_header(decode_header(name))), address


def expected(value: str) -> str:
    """What a header shows for ``value``: control characters (C0, DEL, C1) and line and
    paragraph separators collapsed to single spaces, and the ends trimmed."""
    return re.sub(r"[\x00-\x1f\x7f-\x9f\u2028\u2029]+", " ", value).strip()


@settings(max_examples=300, deadline=None)
@given(hostile_text, hostile_text, addresses)
@example("Hi\r\nBcc: evil@example.net", "Eve\r\nBcc: evil@example.net", "eve@example.org")
@example("=?utf-8?q?Falso?=", "=?utf-8?q?Falso?=", "x@example.org")
@example("a" * 2000, "a" * 2000, "x@example.org")
@example("0\x850", "0\u20280", "x@example.org")
@example("Oggetto", '"' * 600, "x@example.org")
def test_any_subject_and_name_give_a_sound_message(subject: str, name: str, address: str) -> None:
    raw = build(subject, name, address)
    check_wire_format(raw)
    message = parse(raw)
    check_one_of_each_header(message)
    assert str(message["Subject"]) == expected(subject)
    assert message["To"].addresses[0].addr_spec == address
    assert mailbox_of(raw, "To") == (expected(name), address)


@settings(max_examples=150, deadline=None)
@given(hostile_text)
def test_any_sender_name_gives_a_sound_from_header(from_name: str) -> None:
    raw = build("Oggetto", "Mario", "mario@example.org", from_name=from_name)
    check_wire_format(raw)
    message = parse(raw)
    check_one_of_each_header(message)
    sender = "cronache@cittametropolitana.torino.it"
    assert message["From"].addresses[0].addr_spec == sender
    assert mailbox_of(raw, "From") == (expected(from_name), sender)


@pytest.mark.parametrize("address", HOSTILE_ADDRESSES)
def test_a_hostile_address_is_refused(address: str) -> None:
    with pytest.raises(MessageError):
        build("Oggetto", "Mario", address)
    with pytest.raises(MessageError):
        headers.mailbox("Mario", address)


@settings(max_examples=300, deadline=None)
@given(st.text(any_char, max_size=80))
def test_an_address_is_either_refused_or_written_exactly(address: str) -> None:
    try:
        raw = build("Oggetto", "Mario", address)
    except MessageError:
        return
    message = parse(raw)
    check_wire_format(raw)
    check_one_of_each_header(message)
    assert message["To"].addresses[0].addr_spec == wire_address(address)  # domain as A-label
