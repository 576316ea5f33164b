"""The MIME message, built once per send as bytes, and filled per recipient.

:func:`build_template` writes the whole multipart/alternative message (text then
HTML, both quoted-printable, CRLF line ends) with every per-recipient value left
as a slot; :meth:`MessageTemplate.fill` joins the fixed pieces with one
recipient's values. Filling a 60 KB message costs a join, not an encoder pass
(design decision 1).

:func:`build_transactional` is the same builder for the one-off mails the system
writes to one person (a sign-up's confirmation): the same headers and parts, no
list headers, and ``Auto-Submitted`` so that auto-responders keep quiet.
"""

from __future__ import annotations

import email.utils
import hashlib
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from email.header import Header

from dispatcher.errors import MessageError
from dispatcher.message import headers, qp
from dispatcher.message.slots import Slot

MAX_LINE_OCTETS = 998  # RFC 5322 2.1.1
_BODY_SLOTS = (Slot.UNSUBSCRIBE_TOKEN, Slot.PREFERENCES_TOKEN)
_SLOT_BY_SENTINEL = {slot.sentinel: slot for slot in Slot}


@dataclass(frozen=True)
class MailContent:
    """What any message says: its subject, its two parts and its sender.

    :param subject: the subject line, any characters
    :param text: the plain-text part, slots as sentinels
    :param html: the HTML part, slots as sentinels
    :param from_name: display name of the sender
    :param from_address: the From address; its domain names the Message-IDs
    :param reply_to: optional Reply-To address
    """

    subject: str
    text: str
    html: str
    from_name: str
    from_address: str
    reply_to: str | None


@dataclass(frozen=True)
class MessageContent(MailContent):
    """What a send's messages say, as plain values (no database objects): a
    :class:`MailContent` and the list's headers.

    :param list_name: the list's name for List-Id
    :param list_identifier: the List-Id identifier (RFC 2919)
    :param unsubscribe_url_prefix: the https URL of one-click unsubscribe, up to the token
    :param unsubscribe_mailto_domain: domain of the tokened unsubscribe mailto
    :param archive_url: optional List-Archive URL
    :param feedback_id: optional Feedback-ID header value (Gmail's complaint loop)
    """

    list_name: str
    list_identifier: str
    unsubscribe_url_prefix: str
    unsubscribe_mailto_domain: str
    archive_url: str | None = None
    feedback_id: str | None = None


@dataclass(frozen=True)
class _SlotUse:
    slot: Slot
    in_body: bool  # quoted-printable context (wrapped) rather than a header


@dataclass(frozen=True)
class MessageTemplate:
    """A whole message as fixed byte pieces around slot uses.

    ``pieces`` has one more element than ``uses``; the filled message is
    ``pieces[0] + value(uses[0]) + pieces[1] + ...``. No line of a filled message
    starts with a dot: pieces are checked when the template is built, header values
    never start a line, and body values are refused if they start with a dot.
    """

    pieces: tuple[bytes, ...]
    uses: tuple[_SlotUse, ...]
    message_id_domain: str

    def fill(self, values: Mapping[Slot, str]) -> bytes:
        """The message for one recipient.

        :param values: a value for every slot used; body values must be URL-safe
        :raises MessageError: when a value is missing or not safe where it goes
        """
        try:
            # To: may hold a UTF-8 local part (RFC 6532), sent only with SMTPUTF8
            encoded = {s: v.encode("utf-8" if s is Slot.TO else "ascii") for s, v in values.items()}
        except UnicodeEncodeError as exc:
            raise MessageError("a header value is not ASCII after encoding") from exc
        body = {slot: _wrap(values[slot]) for slot in _BODY_SLOTS if slot in values}
        out = [self.pieces[0]]
        try:
            for use, piece in zip(self.uses, self.pieces[1:], strict=True):
                out.append(body[use.slot] if use.in_body else encoded[use.slot])
                out.append(piece)
        except KeyError as exc:
            raise MessageError(f"no value for slot {exc.args[0]}") from exc
        return b"".join(out)


def build_template(content: MessageContent, boundary_seed: str) -> MessageTemplate:
    """Encode ``content`` once into a message with open slots.

    :param boundary_seed: any string that is stable for the send (e.g. the compiled hash),
        so every worker builds byte-identical templates
    :raises MessageError: when a fixed header value cannot be written safely
    """
    boundary = _boundary(boundary_seed)
    return _build(_header_block(content, boundary), content, boundary, _BODY_SLOTS)


def build_transactional(content: MailContent, boundary_seed: str) -> MessageTemplate:
    """Encode a one-off message to one person; its slots are To, Message-ID and Date.

    The parts hold no per-recipient values: they are written for this one mail.

    :param boundary_seed: any string (a one-off message may use its Message-ID)
    :raises MessageError: when a header value cannot be written safely
    """
    boundary = _boundary(boundary_seed)
    lines = _sender_headers(content)
    # RFC 3834: auto-responders must not answer a message the system wrote by itself.
    lines.append("Auto-Submitted: auto-generated")
    lines.append(_multipart(boundary))
    return _build("\r\n".join(lines) + "\r\n\r\n", content, boundary, ())


def one_off_message_id(template: MessageTemplate, tag: str) -> str:
    """A new Message-ID for a message that no ledger row stands behind (a proof, a
    confirmation), so that mail clients never fold two of them into one."""
    return f"<{tag}.{uuid.uuid4().hex}@{template.message_id_domain}>"


#: The key of sends made before sends had one of their own (their resends keep their ids).
LEGACY_MESSAGE_KEY = "dispatch"


def message_id(template: MessageTemplate, delivery_id: int, send_id: int, key: str) -> str:
    """A Message-ID that is the same for every attempt at one delivery.

    Stable ids let mail clients fold a resent copy into the first one. Ids count from 1
    in every database, so ``key`` (random, one per send) keeps two installations sending
    from the same domain, or a database made anew, from reusing each other's ids.
    """
    return f"<{delivery_id}.{send_id}.{key}@{template.message_id_domain}>"


def format_date(timestamp: float) -> str:
    """The Date header value for a Unix time."""
    return email.utils.formatdate(timestamp, localtime=False, usegmt=True)


def _boundary(seed: str) -> str:
    # "=_" cannot occur in quoted-printable text (it writes "=" as =3D), so the
    # boundary never appears inside a part.
    return "=_" + hashlib.sha256(seed.encode()).hexdigest()[:32]


def _build(
    header_block: str, content: MailContent, boundary: str, body_slots: tuple[Slot, ...]
) -> MessageTemplate:
    """The header block, then the text and HTML parts, cut into pieces at the slots."""
    chunks: list[bytes | str] = [header_block.encode("ascii")]
    for subtype, part in (("plain", content.text), ("html", content.html)):
        chunks.append(_part_head(boundary, subtype))
        chunks.extend(qp.encode(part, [slot.sentinel for slot in body_slots]))
        chunks.append(b"\r\n")
    chunks.append(f"--{boundary}--\r\n".encode())
    domain = headers.check_address(content.from_address).rsplit("@", 1)[1]
    return _assemble(chunks, domain)


def _sender_headers(content: MailContent) -> list[str]:
    """The headers every message has, with To, Message-ID and Date left as slots."""
    lines = [
        f"Date: {Slot.DATE.sentinel}",
        f"From: {headers.mailbox(content.from_name, content.from_address)}",
        f"To: {Slot.TO.sentinel}",
        _encoded_header("Subject", content.subject),
        f"Message-ID: {Slot.MESSAGE_ID.sentinel}",
        "MIME-Version: 1.0",
    ]
    if content.reply_to:
        lines.insert(2, f"Reply-To: {headers.check_address(content.reply_to)}")
    return lines


def _header_block(content: MessageContent, boundary: str) -> str:
    unsubscribe = Slot.UNSUBSCRIBE_TOKEN.sentinel
    mailto = f"mailto:u-{unsubscribe}@{content.unsubscribe_mailto_domain}?subject=unsubscribe"
    lines = [
        *_sender_headers(content),
        f"List-Id: {headers.list_id(content.list_name, content.list_identifier)}",
        f"List-Unsubscribe: <{content.unsubscribe_url_prefix}{unsubscribe}>,\r\n <{mailto}>",
        "List-Unsubscribe-Post: List-Unsubscribe=One-Click",
    ]
    if content.archive_url:
        lines.append(f"List-Archive: <{content.archive_url}>")
    if content.feedback_id:
        lines.append(f"Feedback-ID: {headers.clean_text(content.feedback_id)}")
    lines.append(_multipart(boundary))
    return "\r\n".join(lines) + "\r\n\r\n"


def _multipart(boundary: str) -> str:
    return f'Content-Type: multipart/alternative; boundary="{boundary}"'


def _encoded_header(name: str, value: str) -> str:
    """``Name: value`` with RFC 2047 encoding and folding as needed."""
    encoded = Header(headers.clean_text(value), "utf-8", header_name=name).encode(linesep="\r\n")
    return f"{name}: {encoded}"


def _part_head(boundary: str, subtype: str) -> bytes:
    return (
        f"--{boundary}\r\n"
        f'Content-Type: text/{subtype}; charset="utf-8"\r\n'
        "Content-Transfer-Encoding: quoted-printable\r\n\r\n"
    ).encode()


def _assemble(chunks: list[bytes | str], domain: str) -> MessageTemplate:
    """Turn encoded bytes and sentinels (in headers and parts) into pieces and slot uses."""
    header_end = 1  # chunks[0] is the header block; the rest is the body
    pieces: list[bytes] = []
    uses: list[_SlotUse] = []
    current = bytearray()
    for index, chunk in enumerate(chunks):
        if isinstance(chunk, str):
            pieces.append(bytes(current))
            uses.append(_SlotUse(_SLOT_BY_SENTINEL[chunk], True))
            current = bytearray()
            continue
        if index < header_end:
            _split_header_slots(chunk, pieces, uses, current)
        else:
            current += chunk
    pieces.append(bytes(current))
    if any(b"\n." in piece for piece in pieces):
        # Cannot happen with our encoder: parts write a leading dot as =2E.
        raise MessageError("a line of the message starts with a dot")
    return MessageTemplate(tuple(pieces), tuple(uses), domain)


def _split_header_slots(
    block: bytes, pieces: list[bytes], uses: list[_SlotUse], current: bytearray
) -> None:
    """Cut the header block at each sentinel; ``current`` carries the open piece."""
    rest = block
    while True:
        hit = _first_sentinel(rest)
        if hit is None:
            current += rest
            return
        start, slot = hit
        current += rest[:start]
        pieces.append(bytes(current))
        current.clear()
        uses.append(_SlotUse(slot, False))
        rest = rest[start + len(slot.sentinel) :]


def _first_sentinel(data: bytes) -> tuple[int, Slot] | None:
    found = [(data.find(s.sentinel.encode()), s) for s in Slot]
    found = [(position, slot) for position, slot in found if position >= 0]
    return min(found, key=lambda item: item[0]) if found else None


def _wrap(value: str) -> bytes:
    try:
        return qp.wrap_slot_value(value)
    except ValueError as exc:
        raise MessageError(str(exc)) from exc


def check_line_lengths(message: bytes) -> None:
    """Refuse a message with a line over 998 octets or a bare CR or LF.

    :raises MessageError: naming the first offending line
    """
    for number, line in enumerate(message.split(b"\r\n"), start=1):
        if len(line) > MAX_LINE_OCTETS:
            raise MessageError(f"line {number} is {len(line)} octets long (limit 998)")
        if b"\r" in line or b"\n" in line:
            raise MessageError(f"line {number} has a bare CR or LF")
