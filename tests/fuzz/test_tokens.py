"""Tokens under fuzzing: nothing but a token we signed verifies, and no edit of one does.

A token is hexadecimal, so its letters may come back in capitals (some relays change
the case of a local part); that spells the same bytes and the same token. Any other
change of any character must fail, for every purpose and key.
"""

from __future__ import annotations

from collections.abc import Callable

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from subscribers.errors import InvalidTokenError
from subscribers.tokens import MAX_TOKEN_CHARS, Purpose, Signer

SIGNER = Signer(["chiave-attuale", "chiave-vecchia"])
#: How many values a token of each purpose carries (as the callers verify them).
COUNTS = {
    Purpose.UNSUBSCRIBE: 2,
    Purpose.PREFERENCES: 1,
    Purpose.CONFIRM: 3,
    Purpose.BOUNCE: 1,
    Purpose.SIGNUP: 2,
}
# Ids (and minutes) of any size a database will reach; three must fit in 64 characters.
ids = st.integers(min_value=0, max_value=2**42)
purposes = st.sampled_from(sorted(Purpose, key=lambda p: p.value))


def refused(token: str, purpose: Purpose, count: int | None = None) -> bool:
    try:
        SIGNER.verify(purpose, token, COUNTS[purpose] if count is None else count)
    except InvalidTokenError:
        return True
    return False


def signed(purpose: Purpose, values: list[int]) -> str:
    return SIGNER.sign(purpose, *values[: COUNTS[purpose]])


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=100), purposes)
def test_random_strings_never_verify(token: str, purpose: Purpose) -> None:
    assert refused(token, purpose)


@settings(max_examples=300, deadline=None)
@given(st.text("0123456789abcdef", min_size=1, max_size=MAX_TOKEN_CHARS), purposes)
def test_random_hex_never_verifies(token: str, purpose: Purpose) -> None:
    assert refused(token, purpose)


def one_character_changed(token: str, data: st.DataObject) -> list[str]:
    position = data.draw(st.integers(0, len(token) - 1), label="position")
    original = token[position]
    replacement = data.draw(
        st.characters().filter(lambda c: c.lower() != original), label="replacement"
    )
    return [token[:position] + replacement + token[position + 1 :]]


def characters_added_or_removed(token: str, data: st.DataObject) -> list[str]:
    cut = data.draw(st.integers(0, len(token)), label="cut")
    extra = data.draw(st.text(min_size=1, max_size=8), label="extra")
    removed = [token[:cut] + token[cut + 1 :]] if cut < len(token) else []
    return [token[:cut] + extra + token[cut:], *removed]


@settings(max_examples=400, deadline=None)
@given(
    purposes,
    st.lists(ids, min_size=3, max_size=3),
    st.sampled_from([one_character_changed, characters_added_or_removed]),
    st.data(),
)
def test_any_edit_of_a_token_fails(
    purpose: Purpose,
    values: list[int],
    edit: Callable[[str, st.DataObject], list[str]],
    data: st.DataObject,
) -> None:
    token = signed(purpose, values)
    assert not refused(token, purpose)
    for edited in edit(token, data):
        assert refused(edited, purpose)


@settings(max_examples=200, deadline=None)
@given(purposes, purposes, st.lists(ids, min_size=3, max_size=3))
def test_a_token_is_good_for_its_purpose_only(
    purpose: Purpose, other: Purpose, values: list[int]
) -> None:
    token = signed(purpose, values)
    assert SIGNER.verify(purpose, token, COUNTS[purpose]) == tuple(values[: COUNTS[purpose]])
    for count in range(5):
        if count != COUNTS[purpose]:
            assert refused(token, purpose, count)
    if other is not purpose:
        for count in range(5):
            assert refused(token, other, count)


@settings(max_examples=100, deadline=None)
@given(purposes, st.lists(ids, min_size=3, max_size=3), st.text(min_size=1, max_size=20))
def test_a_token_made_with_another_key_never_verifies(
    purpose: Purpose, values: list[int], key: str
) -> None:
    forger = Signer([key + "-non-nostra"])
    assert refused(forger.sign(purpose, *values[: COUNTS[purpose]]), purpose)


@settings(max_examples=100, deadline=None)
@given(purposes, st.lists(ids, min_size=3, max_size=3))
def test_capital_letters_spell_the_same_token(purpose: Purpose, values: list[int]) -> None:
    token = signed(purpose, values)
    assert SIGNER.verify(purpose, token.upper(), COUNTS[purpose]) == SIGNER.verify(
        purpose, token, COUNTS[purpose]
    )


@pytest.mark.parametrize("purpose", list(Purpose))
def test_a_token_from_values_past_the_size_limit_is_not_made(purpose: Purpose) -> None:
    with pytest.raises(ValueError):
        SIGNER.sign(purpose, *([2**64] * 4))
