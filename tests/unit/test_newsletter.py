"""Newsletter settings: the example loads, round-trips, and mistakes name file and key."""

from __future__ import annotations

import json
import tomllib
from pathlib import Path
from typing import Any

import pytest

from dispatcher.editions import (
    Colours,
    NewsletterSettings,
    contrast_ratio,
    load_newsletter_settings,
)
from dispatcher.errors import EditionFileError

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE = ROOT / "examples" / "cronache.toml"

MINIMAL = """\
slug = "prova"
name = "Notizie di prova"
from_name = "Notizie"
from_address = "notizie@example.org"
list_id = "notizie.example.org"
masthead_title = "Notizie"
masthead_subtitle = "Il settimanale di prova"
legal_footer = ["Registrazione n. 1"]
"""


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "prova.toml"
    path.write_text(text, encoding="utf-8")
    return path


def fails(data: dict[str, Any]) -> EditionFileError:
    with pytest.raises(EditionFileError) as caught:
        NewsletterSettings.from_dict(data, source="prova.toml")
    return caught.value


def minimal(**changes: Any) -> dict[str, Any]:
    data = tomllib.loads(MINIMAL)
    data.update(changes)
    return data


def test_the_example_settings_load() -> None:
    settings = load_newsletter_settings(EXAMPLE)
    assert settings.name == "Cronache da Palazzo Cisterna"
    assert settings.masthead_kicker == "DA PALAZZO CISTERNA"
    assert settings.masthead_title == "Cronache"
    assert settings.masthead_subtitle == "IL SETTIMANALE DELLA CITTÀ METROPOLITANA DI TORINO"
    assert "Autorizzazione del Tribunale di Torino n. 1788 del 29.3.1966" in settings.legal_footer
    assert settings.list_id == "cronache.cittametropolitana.torino.it"
    assert settings.language == "it"


def test_minimal_settings_take_the_defaults(tmp_path: Path) -> None:
    settings = load_newsletter_settings(write(tmp_path, MINIMAL))
    assert settings.colours == Colours()
    assert settings.logo is None and settings.reply_to is None
    assert settings.language == "it"


def test_json_round_trip_is_exact(tmp_path: Path) -> None:
    minimal_file = write(tmp_path, MINIMAL)
    for settings in (load_newsletter_settings(EXAMPLE), load_newsletter_settings(minimal_file)):
        stored = json.loads(json.dumps(settings.to_dict()))
        assert NewsletterSettings.from_dict(stored) == settings
        assert NewsletterSettings.from_dict(stored).to_dict() == settings.to_dict()


def test_default_colours_pass_wcag_aa() -> None:
    for _, foreground, background in Colours().contrast_pairs():
        assert contrast_ratio(foreground, background) >= 4.5


def test_contrast_ratio_matches_wcag_reference_values() -> None:
    assert contrast_ratio("#000000", "#ffffff") == pytest.approx(21.0)
    assert contrast_ratio("#777777", "#ffffff") == pytest.approx(4.48, abs=0.01)


@pytest.mark.parametrize(
    ("changes", "key", "words"),
    [
        ({"name": None}, "name", "is missing"),
        ({"form_address": "a@example.org"}, "form_address", "unknown setting"),
        ({"from_address": "notizie@@example.org"}, "from_address", "not an email address"),
        ({"from_address": "notizie@example.org\r\nBcc: x@example.org"}, "from_address", "one line"),
        ({"from_address": "notizie example.org"}, "from_address", "not an email address"),
        ({"from_address": "notizie@localhost"}, "from_address", "no valid domain"),
        ({"reply_to": "a b@example.org"}, "reply_to", "not an email address"),
        ({"from_name": "Notizie\nBcc: x"}, "from_name", "one line"),
        ({"list_id": "<notizie.example.org>"}, "list_id", "not a List-Id"),
        ({"list_id": "notizie"}, "list_id", "not a List-Id"),
        ({"slug": "Notizie"}, "slug", "lower-case"),
        ({"language": "italiano!"}, "language", "language code"),
        ({"legal_footer": []}, "legal_footer", "list of lines"),
        ({"legal_footer": ["ok", ""]}, "legal_footer", "is empty"),
        ({"colours": {"text": "#12345"}}, "colours.text", "#rrggbb"),
        ({"colours": {"text": "#777777"}}, "colours.text", "contrast of 4.48:1, below the 4.5:1"),
        ({"colours": {"primary": "#dddddd"}}, "colours.primary", "contrast"),
        ({"colours": {"on_primary": "#1c4f82"}}, "colours.on_primary", "contrast"),
        ({"colours": {"textt": "#000000"}}, "colours.textt", "unknown setting"),
        ({"logo": {"url": "https://example.org/l.png"}}, "logo.alt", "is missing"),
        ({"logo": {"url": "http://example.org/l.png", "alt": "L"}}, "logo.url", "https://"),
        (
            {"logo": {"url": "https://example.org/l.png", "alt": "L", "width": 9000}},
            "logo.width",
            "pixels",
        ),
    ],
)
def test_mistakes_name_the_file_and_the_key(changes: dict[str, Any], key: str, words: str) -> None:
    data = minimal(**changes)
    for name in [name for name, value in changes.items() if value is None]:
        del data[name]
    error = fails(data)
    assert (error.path, error.field) == ("prova.toml", key)
    assert words in error.problem
    assert str(error).startswith(f"prova.toml: [{key}]")


def test_a_toml_syntax_error_names_the_line(tmp_path: Path) -> None:
    path = write(tmp_path, MINIMAL.replace('list_id = "notizie.example.org"', "list_id notizie"))
    with pytest.raises(EditionFileError) as caught:
        load_newsletter_settings(path)
    assert (caught.value.path, caught.value.line) == (str(path), 5)
    assert str(caught.value).startswith(f"{path}:5: the settings are not valid TOML")


def test_a_missing_file_is_named(tmp_path: Path) -> None:
    with pytest.raises(EditionFileError) as caught:
        load_newsletter_settings(tmp_path / "nessuna.toml")
    assert "nessuna.toml" in str(caught.value)
