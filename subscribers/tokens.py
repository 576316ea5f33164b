"""Signed, scoped, compact tokens for links and return addresses.

A token is a few integers (ids, an issue time) and an HMAC-SHA256 tag over the
token's purpose and those integers, written in lower-case hexadecimal. Hex because
the same tokens sit in URL paths, inside quoted-printable email bodies (no ``=``)
and in address local parts, which some relays lower-case; and because it is
encoded in C, which matters when a token is made for every recipient. The purpose
is part of the MAC, so a token made to unsubscribe cannot confirm or change
preferences, and a token for one person names no other.

Keys rotate: new tokens are signed with the first key, and every key given
verifies, so links in mail already delivered keep working.
"""

from __future__ import annotations

import binascii
import enum
import hmac
import time
from collections.abc import Sequence

from subscribers.errors import InvalidTokenError

TAG_BYTES = 10  # 80 bits: forging needs ~2**79 tries against a rate-limited endpoint
MAX_TOKEN_CHARS = 64  # also the longest local part an address may have


class Purpose(enum.Enum):
    """What a token allows; each purpose signs differently."""

    UNSUBSCRIBE = b"unsubscribe"  # (subscriber_id, list_id); never expires
    PREFERENCES = b"preferences"  # (subscriber_id,); never expires
    # (subscriber_id, list_id, issued_minute); expires. Mailed before sign-up requests
    # were kept; still accepted for one CONFIRM_MAX_AGE after the upgrade, no longer made.
    CONFIRM = b"confirm"
    SIGNUP = b"signup"  # (signup_request_id, issued_minute): confirms that request; expires
    BOUNCE = b"bounce"  # (delivery_id,): the VERP return path


class Signer:
    """Signs and verifies tokens with a current key and any number of older ones."""

    def __init__(self, keys: Sequence[str]) -> None:
        if not keys or not all(keys):
            raise ValueError("at least one non-empty secret key is needed")
        self._keys = [key.encode() for key in keys]
        # Keyed once per purpose: signing copies the keyed state (a token is made for
        # every recipient, three times over).
        self._signing = {p: hmac.new(self._keys[0], p.value + b"\x00", "sha256") for p in Purpose}

    def sign(self, purpose: Purpose, *values: int) -> str:
        """Make a token carrying ``values`` for ``purpose``.

        :param values: non-negative integers (ids, times)
        :returns: a lower-case hexadecimal string of at most 64 characters
        """
        payload = b"".join(map(_varint, values))
        mac = self._signing[purpose].copy()
        mac.update(payload)
        token = (payload + mac.digest()[:TAG_BYTES]).hex()
        if len(token) > MAX_TOKEN_CHARS:
            raise ValueError("too many or too large values for one token")
        return token

    def verify(self, purpose: Purpose, token: str, count: int) -> tuple[int, ...]:
        """Check ``token`` for ``purpose`` and return its ``count`` values.

        :raises InvalidTokenError: when it does not verify under any key or is malformed
        """
        raw = _unhex(token)
        payload, tag = raw[:-TAG_BYTES], raw[-TAG_BYTES:]
        if len(tag) != TAG_BYTES or not any(
            hmac.compare_digest(tag, _tag(key, purpose, payload)) for key in self._keys
        ):
            raise InvalidTokenError("this link is not valid")
        values = _read_varints(payload)
        if len(values) != count:
            raise InvalidTokenError("this link is not valid")
        return values

    def sign_expiring(self, purpose: Purpose, *values: int, now: float | None = None) -> str:
        """Like :meth:`sign`, with the issue time (in minutes) as the last value."""
        minute = int((time.time() if now is None else now) // 60)
        return self.sign(purpose, *values, minute)

    def verify_expiring(
        self, purpose: Purpose, token: str, count: int, max_age: float, now: float | None = None
    ) -> tuple[int, ...]:
        """Verify a token from :meth:`sign_expiring`; ``max_age`` is in seconds.

        :raises InvalidTokenError: when it does not verify or is older than ``max_age``
        """
        *values, minute = self.verify(purpose, token, count + 1)
        age = (time.time() if now is None else now) - minute * 60
        if age > max_age + 60:
            raise InvalidTokenError("this link has expired")
        return tuple(values)


def _tag(key: bytes, purpose: Purpose, payload: bytes) -> bytes:
    return hmac.digest(key, purpose.value + b"\x00" + payload, "sha256")[:TAG_BYTES]


def _varint(value: int) -> bytes:
    """LEB128: small ids take one or two bytes, keeping tokens short."""
    if 0 <= value < 0x80:
        return bytes((value,))
    if value < 0:
        raise ValueError("token values must be non-negative")
    out = bytearray()
    while True:
        byte, value = value & 0x7F, value >> 7
        out.append(byte | (0x80 if value else 0))
        if not value:
            return bytes(out)


def _read_varints(data: bytes) -> tuple[int, ...]:
    values: list[int] = []
    current = shift = 0
    for byte in data:
        current |= (byte & 0x7F) << shift
        shift += 7
        if not byte & 0x80:
            values.append(current)
            current = shift = 0
        elif shift > 63:
            raise InvalidTokenError("this link is not valid")
    if shift:
        raise InvalidTokenError("this link is not valid")
    return tuple(values)


def _unhex(token: str) -> bytes:
    if not token or len(token) > MAX_TOKEN_CHARS or not token.isascii():
        raise InvalidTokenError("this link is not valid")
    try:
        return binascii.unhexlify(token)
    except (ValueError, binascii.Error) as exc:
        raise InvalidTokenError("this link is not valid") from exc
