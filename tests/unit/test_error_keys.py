"""Errors from the core name themselves for the web: a key with a text, and params that fill it.

The English message stays what the command line prints; these check that a page can say
the same thing in Italian and English with nothing left unfilled.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from dispatcher.editions.newsletter import NewsletterSettings, load_newsletter_settings
from dispatcher.editions.parse import parse_edition
from dispatcher.errors import EditionFileError, ImportFileError, NewsletterError
from dispatcher.web.i18n import fillable, translate
from subscribers.csvfile import parse_csv
from tests.support.data import EDITION_FILE, NEWSLETTER_FILE

SOURCE = EDITION_FILE.read_text(encoding="utf-8")

BROKEN_EDITIONS = {
    "edition.bad_number": SOURCE.replace("number: 44", "number: tanti"),
    "edition.field_close": SOURCE.replace("number: 44", "numbr: 44"),
    "edition.missing_field": SOURCE.replace("number: 44\n", ""),
    "edition.bad_date": SOURCE.replace("date: 2024-12-06", "date: 2024-13-40"),
    "edition.yaml_tab": SOURCE.replace("\n  title:", "\n\ttitle:", 1),
    "edition.no_front_matter": "# Solo un titolo\n",
    "edition.front_matter_open": "---\nnewsletter: cronache\n",
    "check.link_scheme": SOURCE.replace("image: https://www.citta", "image: http://www.citta", 1),
    "check.empty": SOURCE.replace("title: IL PANETTONE DEI FUTURI CHEF", "title: ''"),
}


def _shown(exc: NewsletterError) -> tuple[str, str]:
    assert fillable(exc.key, exc.params), (exc.key, dict(exc.params))
    return translate("it", exc.key, **exc.params), translate("en", exc.key, **exc.params)


@pytest.mark.parametrize("key", sorted(BROKEN_EDITIONS))
def test_each_edition_error_has_a_key_its_params_fill(key: str) -> None:
    with pytest.raises(EditionFileError) as caught:
        parse_edition(BROKEN_EDITIONS[key], "n44.md")
    assert caught.value.key == key, str(caught.value)
    italian, english = _shown(caught.value)
    assert italian != english and "{" not in italian + english


def test_a_params_value_reaches_the_sentence() -> None:
    with pytest.raises(EditionFileError) as caught:
        parse_edition(BROKEN_EDITIONS["edition.field_close"], "n44.md")
    assert caught.value.line == 5 and caught.value.field == "numbr"
    italian, english = _shown(caught.value)
    assert "«number»" in italian and "“number”" in english
    assert str(caught.value).startswith("n44.md:5: [numbr] unknown field")  # the CLI's words


def test_newsletter_settings_errors_have_keys() -> None:
    good = load_newsletter_settings(NEWSLETTER_FILE).to_dict()
    cases = {
        "settings.bad_colour": {**good, "colours": {**good["colours"], "link": "blu"}},
        "settings.unknown": {**good, "colour": "#000000"},
        "settings.bad_address": {**good, "from_address": "redazione"},
    }
    for key, data in cases.items():
        with pytest.raises(EditionFileError) as caught:
            NewsletterSettings.from_dict(data)
        assert caught.value.key == key, str(caught.value)
        _shown(caught.value)


@pytest.mark.parametrize(
    ("data", "key"),
    [
        (b"%PDF-1.7\n...", "import.pdf"),
        (b"PK\x03\x04rest", "import.xlsx"),
        (b"", "import.empty"),
        (b"nome;cognome\nAnna;Rossi\n", "import.no_email_column"),
        (b'email;nome\n"a@example.org;Anna\nb@example.org;Bruno\n', "import.stray_quote"),
    ],
)
def test_each_csv_refusal_has_a_key_its_params_fill(data: bytes, key: str) -> None:
    with pytest.raises(ImportFileError) as caught:
        parse_csv(data, Path("iscritti.csv"))
    assert caught.value.key == key, str(caught.value)
    _shown(caught.value)
