"""A small edition file cannot make a huge one: anchors, aliases and size are bounded."""

from __future__ import annotations

import pytest

from dispatcher.editions import parse_edition
from dispatcher.editions.frontmatter import MAX_FRONT_MATTER
from dispatcher.errors import EditionFileError
from tests.unit.test_editions import VALID, change

PATH = "editions/bomba.md"


def _fails(text: str) -> EditionFileError:
    with pytest.raises(EditionFileError) as caught:
        parse_edition(text, PATH)
    return caught.value


def _laughs(levels: int) -> str:
    """The "billion laughs": each level is ten aliases of the one before."""
    lines = ['a0: &a0 "ah ah ah ah ah ah ah ah ah ah"']
    for level in range(1, levels):
        aliases = ", ".join([f"*a{level - 1}"] * 10)
        lines.append(f"a{level}: &a{level} [{aliases}]")
    return "\n".join(lines) + "\n"


def test_the_billion_laughs_are_refused_at_the_first_anchor() -> None:
    text = change("preheader: Anteprima del numero\n", _laughs(9) + "preheader: Anteprima\n")
    error = _fails(text)
    assert error.line == 6  # the first anchor, right after the subject
    assert "anchors and aliases" in error.problem and "&a0" in error.problem


def test_an_alias_that_repeats_the_subject_is_refused_where_it_stands() -> None:
    text = change("subject: Oggetto della settimana", "subject: &s Oggetto della settimana")
    text = text.replace("preheader: Anteprima del numero", "preheader: *s")
    error = _fails(text)
    assert error.line == 5 and "&s" in error.problem


def test_an_alias_without_an_anchor_is_refused_too() -> None:
    error = _fails(change("preheader: Anteprima del numero", "preheader: *nessuno"))
    assert error.line == 6 and "*nessuno" in error.problem


def test_an_oversized_front_matter_is_refused_before_it_is_read() -> None:
    padding = "# " + "x" * 1000 + "\n"
    text = change("newsletter: cronache\n", "newsletter: cronache\n" + padding * 70)
    error = _fails(text)
    assert error.line == 1 and f"{MAX_FRONT_MATTER:,}" in error.problem


def test_a_valid_edition_still_parses() -> None:
    assert parse_edition(VALID, PATH).number == 44
