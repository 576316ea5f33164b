"""The MIME message built once per send and filled per recipient."""

from __future__ import annotations

import email
import email.header
import email.policy
import quopri
import re
from email.message import EmailMessage

import pytest
from hypothesis import given
from hypothesis import strategies as st

from dispatcher.editions.newsletter import load_newsletter_settings
from dispatcher.editions.parse import parse_edition
from dispatcher.errors import MessageError
from dispatcher.message import qp
from dispatcher.message.personalise import Personaliser, Recipient
from dispatcher.message.slots import Slot
from dispatcher.message.template import (
    MessageContent,
    build_template,
    check_line_lengths,
    format_date,
)
from dispatcher.render import EditionLinks, compile_edition
from dispatcher.sends.compose import list_content
from subscribers.tokens import Purpose, Signer
from tests.support.data import EDITION_FILE, NEWSLETTER_FILE

PUBLIC = "https://newsletter.example.org"
SIGNER = Signer(["k-current", "k-old"])


def _content(
    subject: str = "Cronache n. 44: Natale è reale a Stupinigi", **edition_overrides: str
) -> MessageContent:
    source = EDITION_FILE.read_text(encoding="utf-8")
    for old, new in edition_overrides.items():
        source = source.replace(old, new)
    edition = parse_edition(source, str(EDITION_FILE))
    newsletter = load_newsletter_settings(NEWSLETTER_FILE)
    compiled = compile_edition(
        edition, newsletter, EditionLinks.for_edition(PUBLIC, "cronache", edition.number)
    )
    mail = newsletter.mail_content(subject, compiled.text, compiled.html)
    return list_content(mail, newsletter, PUBLIC, "cronache", "bounces.example.org")


def _message(
    content: MessageContent, name: str = "Nicolò Bianchi", addr: str = "n.b@example.org"
) -> bytes:
    personaliser = Personaliser(build_template(content, "seed"), SIGNER, 7, "bounces.example.org")
    return personaliser.message(Recipient(42, 9, 3, addr, name), format_date(0)).data


@pytest.fixture(scope="module")
def raw() -> bytes:
    return _message(_content())


def _parse(raw: bytes) -> EmailMessage:
    parsed = email.message_from_bytes(raw, policy=email.policy.default)
    assert isinstance(parsed, EmailMessage)
    return parsed


def test_every_header_is_present_and_well_formed(raw: bytes) -> None:
    message = _parse(raw)
    assert message["From"].addresses[0].addr_spec == "cronache@cittametropolitana.torino.it"
    assert message["To"].addresses[0].display_name == "Nicolò Bianchi"
    assert message["To"].addresses[0].addr_spec == "n.b@example.org"
    assert message["Subject"] == "Cronache n. 44: Natale è reale a Stupinigi"
    assert message["Date"].datetime.year == 1970
    assert message["Message-ID"] == "<42.7.dispatch@cittametropolitana.torino.it>"
    assert message["MIME-Version"] == "1.0"
    assert (
        message["List-Id"] == "Cronache da Palazzo Cisterna <cronache.cittametropolitana.torino.it>"
    )
    assert message["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    https, mailto = re.findall(r"<([^>]+)>", str(message["List-Unsubscribe"]))
    token = SIGNER.sign(Purpose.UNSUBSCRIBE, 9, 3)
    assert https == f"{PUBLIC}/u/{token}"
    assert mailto == f"mailto:u-{token}@bounces.example.org?subject=unsubscribe"
    assert message.get_content_type() == "multipart/alternative"
    assert [p.get_content_type() for p in message.iter_parts()] == ["text/plain", "text/html"]
    assert all(p["Content-Transfer-Encoding"] == "quoted-printable" for p in message.iter_parts())


def test_lines_end_in_crlf_and_respect_the_limits(raw: bytes) -> None:
    assert b"\n" not in raw.replace(b"\r\n", b"")
    assert b"\r" not in raw.replace(b"\r\n", b"")
    check_line_lengths(raw)
    body = raw.split(b"\r\n\r\n", 1)[1]
    assert max(len(line) for line in body.split(b"\r\n")) <= 76  # RFC 2045 for QP
    assert not any(line.startswith(b".") for line in raw.split(b"\r\n"))


def test_parts_decode_to_the_compiled_edition_with_slots_filled(raw: bytes) -> None:
    content = _content()
    text, html = (p.get_content() for p in _parse(raw).iter_parts())
    unsubscribe, preferences = (
        SIGNER.sign(Purpose.UNSUBSCRIBE, 9, 3),
        SIGNER.sign(Purpose.PREFERENCES, 9),
    )
    for part, compiled in ((text, content.text), (html, content.html)):
        expected = compiled.replace(Slot.UNSUBSCRIBE_TOKEN.sentinel, unsubscribe)
        expected = expected.replace(Slot.PREFERENCES_TOKEN.sentinel, preferences)
        assert part.replace("\r\n", "\n") == expected.replace("\r\n", "\n")
    assert "ZqSLOT" not in text + html
    assert f"{PUBLIC}/u/{unsubscribe}" in html and f"{PUBLIC}/p/{preferences}" in text


def test_two_recipients_differ_only_in_their_slots() -> None:
    personaliser = Personaliser(build_template(_content(), "seed"), SIGNER, 7, "b.example.org")
    first = personaliser.message(Recipient(1, 1, 3, "a@example.org", "A"), "D")
    second = personaliser.message(Recipient(2, 2, 3, "b@example.org", "B"), "D")
    assert first.envelope_from != second.envelope_from
    assert first.envelope_from.startswith("b-") and first.envelope_from.endswith("@b.example.org")
    assert SIGNER.verify(Purpose.BOUNCE, first.envelope_from[2:].split("@")[0], 1) == (1,)
    assert abs(len(first.data) - len(second.data)) < 40


@pytest.mark.parametrize(
    ("subject", "name"),
    [
        ("Città metropolitana: è già Natale – «auguri»", "Zoë D'Andrea"),
        ("Ω " * 60, "Àlessandra Maria Nicolò Bianchi della Città metropolitana di Torino"),
        ("plain ascii subject", 'Rossi, "Mario" (ufficio)'),
    ],
)
def test_accented_subjects_and_names_survive_a_round_trip(subject: str, name: str) -> None:
    raw = _message(_content(subject=subject), name=name)
    check_line_lengths(raw)
    message = email.message_from_bytes(raw, policy=email.policy.compat32)
    decoded = str(email.header.make_header(email.header.decode_header(message["Subject"])))
    assert " ".join(decoded.split()) == " ".join(subject.split())
    to = str(email.header.make_header(email.header.decode_header(message["To"])))
    assert to.replace('"', "").replace("\\", "").startswith(name.replace('"', ""))


def test_a_line_break_in_a_name_or_subject_adds_no_header() -> None:
    raw = _message(
        _content(subject="Hi\r\nBcc: evil@example.net"), name="Eve\r\nBcc: evil@example.net"
    )
    message = _parse(raw)
    assert message["Bcc"] is None
    assert raw.count(b"\r\nBcc:") == 0


def test_an_address_that_could_inject_is_refused() -> None:
    with pytest.raises(MessageError):
        _message(_content(), addr="a@example.org>\r\nBcc: evil@example.net")


def test_template_syntax_and_html_in_the_edition_come_out_as_written() -> None:
    tricky = "Calcolo {{ 7*7 }} e {% include 'x' %} e <script>alert(1)</script>"
    content = _content(**{"a.r.a.\n": f"{tricky}\n\na.r.a.\n"})
    text, html = (p.get_content() for p in _parse(_message(content)).iter_parts())
    assert (
        "{{ 7*7 }}" in text and "{% include 'x' %}" in text and "<script>alert(1)</script>" in text
    )
    assert "{{ 7*7 }}" in html and "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert "<script>alert" not in html and "49" not in text.replace("1949", "")


@given(st.text(st.characters(codec="utf-8", exclude_categories=("Cs",)), max_size=400))
def test_quoted_printable_round_trips_any_text(text: str) -> None:
    sentinel = Slot.UNSUBSCRIBE_TOKEN.sentinel
    source = f"{text}{sentinel}{text}"
    encoded = b"".join(
        chunk if isinstance(chunk, bytes) else qp.wrap_slot_value("tok")
        for chunk in qp.encode(source, [sentinel])
    )
    assert all(len(line) <= 76 and not line.startswith(b".") for line in encoded.split(b"\r\n"))
    normalised = f"{text}tok{text}".replace("\r\n", "\n").replace("\r", "\n").replace("\n", "\r\n")
    assert quopri.decodestring(encoded).decode("utf-8") == normalised
