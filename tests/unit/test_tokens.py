"""Signed, scoped tokens: what they carry, what they refuse, key rotation."""

from __future__ import annotations

import pytest

from subscribers.errors import InvalidTokenError
from subscribers.tokens import Purpose, Signer


def test_a_token_carries_its_values_and_is_short_hex() -> None:
    token = Signer(["k"]).sign(Purpose.UNSUBSCRIBE, 123456, 7)
    assert Signer(["k"]).verify(Purpose.UNSUBSCRIBE, token, 2) == (123456, 7)
    assert len(token) <= 64 and token == token.lower() and int(token, 16) >= 0


def test_a_token_is_scoped_to_its_purpose_and_its_values() -> None:
    signer = Signer(["k"])
    token = signer.sign(Purpose.UNSUBSCRIBE, 1, 2)
    with pytest.raises(InvalidTokenError):
        signer.verify(Purpose.PREFERENCES, token, 2)
    other = signer.sign(Purpose.UNSUBSCRIBE, 2, 2)
    forged = other[: len(other) - 20] + token[-20:]  # person 2's ids with person 1's tag
    with pytest.raises(InvalidTokenError):
        signer.verify(Purpose.UNSUBSCRIBE, forged, 2)


@pytest.mark.parametrize("bad", ["", "zz", "0" * 80, "ab" * 5, "é" * 10, "deadbeef" * 4])
def test_malformed_tokens_are_refused_cleanly(bad: str) -> None:
    with pytest.raises(InvalidTokenError):
        Signer(["k"]).verify(Purpose.UNSUBSCRIBE, bad, 2)


def test_every_flipped_character_is_detected() -> None:
    signer = Signer(["k"])
    token = signer.sign(Purpose.UNSUBSCRIBE, 99, 3)
    for position in range(len(token)):
        flipped = (
            token[:position] + ("0" if token[position] != "0" else "1") + token[position + 1 :]
        )
        with pytest.raises(InvalidTokenError):
            signer.verify(Purpose.UNSUBSCRIBE, flipped, 2)


def test_old_tokens_keep_working_after_the_key_is_rotated() -> None:
    old_token = Signer(["old"]).sign(Purpose.UNSUBSCRIBE, 5, 1)
    rotated = Signer(["new", "old"])
    assert rotated.verify(Purpose.UNSUBSCRIBE, old_token, 2) == (5, 1)
    assert Signer(["new"]).sign(Purpose.UNSUBSCRIBE, 5, 1) == rotated.sign(
        Purpose.UNSUBSCRIBE, 5, 1
    )
    with pytest.raises(InvalidTokenError):
        Signer(["new"]).verify(Purpose.UNSUBSCRIBE, old_token, 2)


def test_expiring_tokens_expire() -> None:
    signer = Signer(["k"])
    token = signer.sign_expiring(Purpose.CONFIRM, 4, 2, now=1_000_000.0)
    assert signer.verify_expiring(Purpose.CONFIRM, token, 2, 3600, now=1_000_100.0) == (4, 2)
    with pytest.raises(InvalidTokenError, match="expired"):
        signer.verify_expiring(Purpose.CONFIRM, token, 2, 3600, now=1_000_000.0 + 7200)
