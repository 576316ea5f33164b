"""One filled message for one recipient: what the message core hands to a transport."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class OutgoingMessage:
    """One filled message for one recipient.

    :param delivery_id: the ledger row this message belongs to
    :param envelope_from: the VERP return path for MAIL FROM (names the delivery)
    :param recipient: the one RCPT TO address
    :param data: the whole message with CRLF line ends, ending in CRLF, no line
        starting with a dot (so no dot-stuffing is needed), without the final ``.CRLF``
    :param message_id: the Message-ID header value, angle brackets included
    :param dot_safe: the builder guarantees no line starts with a dot, so the transport
        may skip its own scan of the content (60 us for 60 KB)
    """

    delivery_id: int
    envelope_from: str
    recipient: str
    data: bytes
    message_id: str
    dot_safe: bool = False
