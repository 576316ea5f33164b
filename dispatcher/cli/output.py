"""Text from outside, made harmless for a terminal before the command line prints it.

A relay's reply, a bounce's diagnostic, a mail's subject or a CSV cell can carry escape
sequences: ESC [ 2 J clears the operator's screen, OSC 52 writes their clipboard, a
carriage return hides what came before it, and the Unicode bidirectional controls
reorder a line so it reads other than it is. Each is shown as a visible escape instead.
"""

from __future__ import annotations

import json
import unicodedata
from typing import Any

# Line breaks and tabs in a one-line field are shown too: a reply must not forge a line.
_BIDI = frozenset("\u061c\u200e\u200f\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069")


def harmless(text: str) -> str:
    """``text`` with every control character (C0, DEL, C1, bidi) written as an escape."""
    return "".join(_shown(char) for char in text)


def _shown(char: str) -> str:
    if char in _BIDI or unicodedata.category(char) == "Cc":
        code = ord(char)
        return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"
    return char


def harmless_json(value: Any) -> str:
    """``value`` as indented JSON that a terminal shows as it is.

    JSON escapes C0 characters itself, but with non-ASCII text kept readable it writes
    C1 and bidirectional controls as they are; those are escaped here.
    """
    text = json.dumps(value, ensure_ascii=False, indent=2)
    return "".join(f"\\u{ord(c):04x}" if c in _BIDI or "\x7f" <= c <= "\x9f" else c for c in text)
