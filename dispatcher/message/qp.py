"""Quoted-printable encoding that leaves per-recipient slots open.

The parts of a message are encoded once per send. Each slot sentinel is kept
whole on a line of its own (a soft line break before and after it), so the value
put there later, which is limited to URL-safe characters without ``=``, needs no
re-encoding and never pushes a line past the 76 characters RFC 2045 allows:
:func:`wrap_slot_value` splits a long value with soft breaks.

Lines never start with a dot (``.`` is written ``=2E`` there), so the message
needs no dot-stuffing when it is written to SMTP, and never with ``From `` (which
mbox readers would mangle).
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Sequence

MAX_LINE = 76  # RFC 2045 6.7 (5): encoded lines at most 76 characters, soft break included
SOFT_BREAK = b"=\r\n"
_SAFE = frozenset(range(33, 127)) - {ord("=")}
_ESCAPED = [f"={b:02X}".encode() for b in range(256)]
_SLOT_VALUE = re.compile(r"[A-Za-z0-9_~:/?&%#+,;@.!$'()*-]*")


def encode(text: str, sentinels: Sequence[str] = ()) -> Iterator[bytes | str]:
    """Encode ``text`` as quoted-printable, yielding bytes and, whole, each sentinel found.

    :param text: the part's content; any line ends are written as CRLF
    :param sentinels: strings to keep unencoded on lines of their own
    :returns: an iterator of encoded byte chunks and sentinel strings, in order
    """
    pattern = _sentinel_pattern(sentinels)
    lines = text.replace("\r\n", "\n").replace("\r", "\n").split("\n")
    for index, line in enumerate(lines):
        if index:
            yield b"\r\n"
        yield from _encode_line(line, pattern)


def wrap_slot_value(value: str) -> bytes:
    """Prepare a slot's value for its own line of a quoted-printable part.

    :raises ValueError: if the value holds characters quoted-printable would change
    """
    if not _SLOT_VALUE.fullmatch(value) or value.startswith("."):
        raise ValueError(f"slot value is not quoted-printable safe: {value[:40]!r}")
    raw = value.encode("ascii")
    width = MAX_LINE - 1
    return SOFT_BREAK.join(raw[i : i + width] for i in range(0, len(raw), width)) or b""


def _sentinel_pattern(sentinels: Sequence[str]) -> re.Pattern[str] | None:
    if not sentinels:
        return None
    return re.compile("|".join(re.escape(s) for s in sorted(sentinels, key=len, reverse=True)))


def _encode_line(line: str, pattern: re.Pattern[str] | None) -> Iterator[bytes | str]:
    """One hard line: text pieces encoded, sentinels on soft lines of their own."""
    position = 0
    pieces = list(pattern.finditer(line)) if pattern else []
    for match in pieces:
        before = line[position : match.start()]
        if before:
            yield _encode_text(before)
            yield SOFT_BREAK
        yield match.group()
        position = match.end()
        if position < len(line):
            yield SOFT_BREAK
    rest = line[position:]
    if rest or not pieces:
        yield _encode_text(rest)


def _encode_text(text: str) -> bytes:
    """Encode a piece of one line, breaking it with soft line breaks every 76 characters."""
    out = bytearray()
    line_length = 0
    data = text.encode("utf-8")
    last = len(data) - 1
    for index, byte in enumerate(data):
        token = _token(byte, line_length == 0, index == last)
        if line_length + len(token) > MAX_LINE - 1:
            out += SOFT_BREAK
            line_length = 0
            token = _token(byte, True, index == last)
        out += token
        line_length += len(token)
    return bytes(out)


def _token(byte: int, starts_line: bool, ends_text: bool) -> bytes:
    if byte in (0x20, 0x09):
        # Trailing white space would be stripped by relays; it is only trailing at the end.
        return _ESCAPED[byte] if ends_text else bytes((byte,))
    if starts_line and byte in (ord("."), ord("F")):
        return _ESCAPED[byte]
    return bytes((byte,)) if byte in _SAFE else _ESCAPED[byte]
