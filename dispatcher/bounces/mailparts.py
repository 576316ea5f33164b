"""Reading the pieces of returned mail: headers, text parts, enclosed originals.

Bounces come from every mail server ever written, so each helper here accepts
what the email package makes of broken input (``Header`` objects for raw 8-bit
headers, strings where lists were expected) and never raises on content.
The messages are parsed with the ``compat32`` policy because flufl.bounce's
detectors expect its :class:`email.message.Message`.
"""

from __future__ import annotations

import email
import email.errors
import email.header
import email.parser
import email.utils
import re
from email.message import Message

from dispatcher.errors import BounceError

_FOLD = re.compile(r"\r?\n[ \t]+")
_ENCLOSED_TYPES = ("message/rfc822", "text/rfc822-headers", "message/rfc822-headers")
_HEADER_LINE = re.compile(rb"^[!-9;-~]+:", re.MULTILINE)


def parse_message(raw: bytes) -> Message:
    """Parse a returned message.

    :raises BounceError: when the bytes hold no header at all, so cannot be mail
    """
    head = raw[:4096].lstrip(b"\r\n")
    if head.startswith(b"From "):
        head = head.partition(b"\n")[2]  # an mbox "From " line is not a header
    if not _HEADER_LINE.match(head):
        raise BounceError("not an email message: no header line at the start")
    return email.message_from_bytes(raw)


def header_text(msg: Message, name: str) -> str:
    """A header's value as one line of text, RFC 2047 words decoded; "" when absent."""
    value = msg.get(name)
    if value is None:
        return ""
    try:
        text = str(email.header.make_header(email.header.decode_header(str(value))))
    except (UnicodeError, LookupError, email.errors.MessageError):  # bad charsets, bad words
        text = str(value)
    return _FOLD.sub(" ", text).strip()


def header_values(msg: Message, name: str) -> list[str]:
    """Every occurrence of a header, unfolded."""
    return [_FOLD.sub(" ", str(v)).strip() for v in msg.get_all(name, [])]


def bare_address(value: str) -> str:
    """``rfc822; <User@Example.org>`` -> ``User@Example.org`` (DSN and ARF field syntax)."""
    kind, sep, rest = value.partition(";")
    text = rest if sep and "@" not in kind else value
    return email.utils.parseaddr(text.strip())[1] or text.strip().strip("<>").strip()


def addresses(values: list[str]) -> list[str]:
    """The addresses in address-list header values, in order."""
    return [addr for _, addr in email.utils.getaddresses(values) if addr]


def text_of(part: Message) -> str:
    """A text part's content decoded with its charset (or Latin-1 when that fails)."""
    payload = part.get_payload(decode=True)
    if not isinstance(payload, bytes):
        return str(part.get_payload()) if not part.is_multipart() else ""
    charset = part.get_content_charset() or "us-ascii"
    try:
        return payload.decode(charset, errors="replace")
    except LookupError:  # an unknown charset name: bytes survive as Latin-1
        return payload.decode("latin-1")


def subparts(part: Message) -> list[Message]:
    """A multipart or message/* part's sub-messages; [] for anything else."""
    payload = part.get_payload()
    if isinstance(payload, list):
        return [p for p in payload if isinstance(p, Message)]
    return []


def field_blocks(part: Message) -> list[Message]:
    """The header blocks of a report part (message/delivery-status, message/feedback-report).

    The email package parses these into sub-messages when they are well formed;
    when a server got the syntax wrong the text is split and parsed here.
    """
    blocks = subparts(part)
    if blocks:
        return blocks
    text = text_of(part).replace("\r\n", "\n")
    parser = email.parser.HeaderParser()
    return [parser.parsestr(block.strip() + "\n") for block in text.split("\n\n") if block.strip()]


def enclosed_original(msg: Message) -> Message | None:
    """The original message (or just its headers) that a report or bounce encloses."""
    for part in msg.walk():
        if part.get_content_type() not in _ENCLOSED_TYPES:
            continue
        inner = subparts(part)
        if inner:
            return inner[0]
        text = text_of(part)
        if text.strip():
            return email.parser.HeaderParser().parsestr(text.replace("\r\n", "\n"))
    return None
