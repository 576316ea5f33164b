"""Header values: encoded once per send, or per recipient where they must be.

Everything that comes from people (names, addresses, subjects) is stripped of
line breaks and control characters before it is written, so no value can add a
header.
"""

from __future__ import annotations

import base64
import re

from dispatcher.errors import MessageError

# C0 and C1 controls, DEL, and the Unicode line and paragraph separators: Python's
# header encoder breaks lines at NEL, LS and PS too (str.splitlines), so they would
# reach the header as folds, unlike the rest of the text.
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f\u2028\u2029]+")
_ATOM_SPECIALS = re.compile(r'[()<>\[\]:;@\\,."]')
_ADDR_SPEC = re.compile(r"[A-Za-z0-9!#$%&'*+/=?^_`{|}~.-]{1,64}@[A-Za-z0-9.-]{1,253}")
# RFC 6532: a recipient's local part may also hold any non-ASCII character but the
# controls and separators above; the domain is always an A-label (subscribers.addresses).
_UTF8_ADDR_SPEC = re.compile(
    r"[A-Za-z0-9!#$%&'*+/=?^_`{|}~.\u00a0-\u2027\u202a-\U0010ffff-]{1,64}@[A-Za-z0-9.-]{1,253}"
)
PLAIN_NAME_CHARS = 70  # a longer name is encoded, and so folded (RFC 5322 2.1.1)
ENCODED_WORD_BYTES = 45  # 45 octets -> 60 base64 characters: each word fits a folded line


def clean_text(value: str) -> str:
    """Collapse control characters (CR, LF and NEL among them) into single spaces."""
    return _CONTROL.sub(" ", value).strip()


def check_address(address: str) -> str:
    """Return ``address`` if it is a plain ASCII addr-spec fit for a header and RCPT TO.

    :raises MessageError: for anything else (spaces, line breaks, angle brackets, non-ASCII)
    """
    if not _ADDR_SPEC.fullmatch(address) or ".." in address or address.startswith("."):
        raise MessageError(f"not a deliverable address: {address[:80]!r}")
    return address


def check_recipient(address: str) -> str:
    """Return ``address`` if it is a recipient fit for the To: header and RCPT TO.

    As :func:`check_address`, and a local part that is not ASCII is allowed: written
    as UTF-8 (RFC 6532), which the transport sends only to a relay offering SMTPUTF8.

    :raises MessageError: for anything else
    """
    if address.isascii():
        return check_address(address)
    local = address.rpartition("@")[0]
    if not _UTF8_ADDR_SPEC.fullmatch(address) or ".." in local or address.startswith("."):
        raise MessageError(f"not a deliverable address: {address[:80]!r}")
    if len(local.encode("utf-8")) > 64:  # RFC 5321 counts octets
        raise MessageError(f"not a deliverable address: {address[:80]!r}")
    return address


def display_name(name: str) -> str:
    """A display name for a header: short ASCII as is (quoted if need be), else RFC 2047.

    Encoded words are also used for ASCII names that are long, since a name written
    as is cannot be folded and could push the line past 998 octets, and for names
    holding ``=?``, which readers would decode as encoded words of their own.
    """
    name = clean_text(name)
    if not name:
        return ""
    if name.isascii() and "=?" not in name:
        shown = name
        if _ATOM_SPECIALS.search(name):
            shown = '"' + name.replace("\\", "\\\\").replace('"', '\\"') + '"'
        if len(shown) <= PLAIN_NAME_CHARS:
            return shown
    return encode_words(name)


def encode_words(text: str) -> str:
    """RFC 2047 base64 encoded words, one per folded line, broken after spaces.

    RFC 2047 readers drop the white space between encoded words, so words end just
    after a space where they can (Python's own parser adds a space there instead;
    breaking at spaces keeps its result readable too). Written here rather than
    with ``email.header.Header`` because it runs for every recipient with an
    accented name, and this costs a twentieth of the time.
    """
    words: list[str] = []
    chunk = b""
    for piece in _pieces(text):
        if chunk and len(chunk) + len(piece) > ENCODED_WORD_BYTES:
            words.append(_word(chunk))
            chunk = b""
        chunk += piece
    if chunk:
        words.append(_word(chunk))
    return "\r\n ".join(words)


def _pieces(text: str) -> list[bytes]:
    """UTF-8 pieces of at most one word's size: runs ending in a space, cut if too long."""
    pieces: list[bytes] = []
    for run in re.findall(r"[^ ]* ?", text):
        encoded = run.encode("utf-8")
        while len(encoded) > ENCODED_WORD_BYTES:
            cut = ENCODED_WORD_BYTES
            while encoded[cut] & 0xC0 == 0x80:  # never split a character's bytes
                cut -= 1
            pieces.append(encoded[:cut])
            encoded = encoded[cut:]
        if encoded:
            pieces.append(encoded)
    return pieces


def _word(chunk: bytes) -> str:
    return "=?utf-8?b?" + base64.b64encode(chunk).decode("ascii") + "?="


def mailbox(name: str, address: str) -> str:
    """``Name <address>`` (or the bare address when there is no name)."""
    address = check_address(address)
    shown = display_name(name)
    return f"{shown} <{address}>" if shown else address


def recipient_mailbox(name: str, address: str) -> str:
    """As :func:`mailbox`, for a recipient, whose local part may be UTF-8 (RFC 6532)."""
    address = check_recipient(address)
    shown = display_name(name)
    return f"{shown} <{address}>" if shown else address


def list_id(name: str, identifier: str) -> str:
    """The List-Id header value (RFC 2919): a phrase and the list's identifier."""
    return f"{display_name(name)} <{identifier}>".strip()
