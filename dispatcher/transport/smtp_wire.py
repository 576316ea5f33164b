"""SMTP on the wire: replies, command lines and message content as bytes.

Pure functions and small value types shared by the SMTP session and transport:
parsing a (multi-line) reply, reading EHLO keywords, formatting the envelope
commands and making message content safe to send after DATA (RFC 5321 4.1 and
4.5.2). Nothing here touches a socket.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from dispatcher.errors import DispatcherError

#: RFC 5321 allows 512 octets per reply line; leave room for servers that exceed it.
MAX_REPLY_LINE = 8192
FINAL_DOT = b".\r\n"


class SessionLost(DispatcherError):
    """The SMTP session can no longer be trusted: closed, timed out or garbled.

    :param reason: what happened, in words fit for a delivery's reply column
    :param after_dot: whether the whole final dot of DATA had been written when it happened
    """

    def __init__(self, reason: str, after_dot: bool = False) -> None:
        super().__init__(reason)
        self.reason = reason
        self.after_dot = after_dot


@dataclass(frozen=True, slots=True)
class Reply:
    """One SMTP reply: its code and its text, all lines joined by newlines.

    The text keeps everything after the code (enhanced status code, queue id).
    """

    code: int
    text: str

    @property
    def positive(self) -> bool:
        return 200 <= self.code < 300

    @property
    def transient(self) -> bool:
        return 400 <= self.code < 500

    @property
    def permanent(self) -> bool:
        return 500 <= self.code < 600

    @property
    def closing(self) -> bool:
        # 421: the server is closing the transmission channel (RFC 5321 3.8).
        return self.code == 421

    def __str__(self) -> str:
        return f"{self.code} {self.text}".rstrip()


def parse_reply_line(line: bytes) -> tuple[int, bool, str]:
    """Split one reply line into code, whether more lines follow, and text.

    :param line: one line as read, with its line end
    :returns: ``(code, continued, text)``
    :raises SessionLost: when the line is not an SMTP reply line
    """
    if len(line) < 3 or not line[:3].isdigit():
        raise SessionLost(f"garbled reply from the relay: {line[:80]!r}")
    separator = line[3:4]
    if separator not in (b" ", b"-", b"\r", b"\n", b""):
        raise SessionLost(f"garbled reply from the relay: {line[:80]!r}")
    text = line[4:].rstrip(b"\r\n").decode("utf-8", "replace")
    return int(line[:3]), separator == b"-", text


def join_reply(code: int, texts: Sequence[str]) -> Reply:
    """Make one :class:`Reply` out of the texts of its lines."""
    return Reply(code, "\n".join(texts))


def parse_ehlo(reply: Reply) -> dict[str, str]:
    """The service extensions an EHLO reply advertises (RFC 5321 4.1.1.1).

    :param reply: the whole EHLO reply; its first line is the server's greeting
    :returns: upper-case keyword to its parameters (``"AUTH" -> "PLAIN LOGIN"``)
    """
    extensions: dict[str, str] = {}
    for line in reply.text.split("\n")[1:]:
        keyword, _, params = line.strip().partition(" ")
        if keyword.upper().startswith("AUTH="):
            # Some old servers advertise "AUTH=LOGIN PLAIN" in addition to, or instead of, AUTH.
            keyword, params = "AUTH", f"{keyword[5:]} {params}".strip()
        if keyword:
            extensions[keyword.upper()] = params.strip()
    return extensions


def check_address(address: str, role: str, smtputf8: bool = False) -> bytes:
    """An envelope address as bytes, refused when it could break the command line.

    :param address: the mailbox, without angle brackets (empty for a null sender)
    :param role: ``"sender"`` or ``"recipient"``, for the message
    :param smtputf8: the relay offers SMTPUTF8 (RFC 6531): a UTF-8 address may go
    :returns: the address encoded for the wire
    :raises ValueError: when the address holds a line break or brackets, or is not
        ASCII and the relay does not offer SMTPUTF8
    """
    if any(ch in address for ch in "\r\n<>") or not address.isprintable():
        raise ValueError(f"the {role} address {address!r} cannot be sent in an SMTP command")
    if role == "recipient" and not address:
        raise ValueError("the recipient address is empty")
    if not address.isascii() and not smtputf8:
        raise ValueError(
            f"not sent: the {role} address {address!r} is not ASCII, which needs a relay"
            " offering SMTPUTF8 (RFC 6531), and this relay does not offer it"
        )
    return address.encode("utf-8")


def envelope_commands(
    sender: bytes, recipient: bytes, smtputf8: bool = False
) -> tuple[bytes, bytes, bytes]:
    """MAIL FROM, RCPT TO and DATA for one message, each with its CRLF.

    :param smtputf8: declare the message internationalised (RFC 6531 3.4): a UTF-8
        address in the envelope or the headers
    """
    return (
        b"MAIL FROM:<" + sender + (b"> SMTPUTF8\r\n" if smtputf8 else b">\r\n"),
        b"RCPT TO:<" + recipient + b">\r\n",
        b"DATA\r\n",
    )


def wire_content(data: bytes, dot_safe: bool = False) -> bytes:
    """The message content as it must go after DATA, without the final dot.

    Messages are built already dot-safe and CRLF-terminated, so this is normally
    the same object. Unless the builder vouches for it (``dot_safe``), the content
    is scanned for lines starting with a dot, without regular expressions.
    """
    if not dot_safe and (data.startswith(b".") or b"\n." in data):
        # RFC 5321 4.5.2: a line that starts with a dot gets one more.
        data = data.replace(b"\n.", b"\n..")
        if data.startswith(b"."):
            data = b"." + data
    if not data.endswith(b"\r\n"):
        data += b"\r\n"
    return data
