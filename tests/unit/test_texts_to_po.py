"""tools/texts_to_po.py: a helper's texts module goes into both catalogues, or nothing moves."""

from __future__ import annotations

import importlib.util
import shutil
from pathlib import Path
from types import ModuleType

import pytest
from babel.messages.pofile import read_po

ROOT = Path(__file__).resolve().parents[2]
MODULE = """
from dispatcher.web.i18n import add_texts

TEXTS = {
    "it": {"zz.lists.title": "Liste", "zz.lists.count": "{count} iscritti, "
           "{pending} in attesa"},
    "en": {"zz.lists.title": "Lists", "zz.lists.count": "{count} subscribers, {pending} pending"},
}
add_texts(TEXTS)
add_texts({"it": {"zz.inline": "In linea"}, "en": {"zz.inline": "Inline"}})
"""


@pytest.fixture
def tool() -> ModuleType:
    spec = importlib.util.spec_from_file_location("texts_to_po", ROOT / "tools" / "texts_to_po.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture
def locale(tmp_path: Path) -> Path:
    copy = tmp_path / "locale"
    shutil.copytree(ROOT / "dispatcher" / "locale", copy)
    return copy


def _texts(root: Path, language: str) -> dict[str, str]:
    with (root / language / "LC_MESSAGES" / "messages.po").open("rb") as file:
        return {m.id: m.string for m in read_po(file) if m.id}


def test_a_module_is_merged_into_both_catalogues_sorted(
    tool: ModuleType, locale: Path, tmp_path: Path
) -> None:
    module = tmp_path / "lists_texts.py"
    module.write_text(MODULE, encoding="utf-8")
    before = _texts(locale, "it")
    added, conflicts = tool.merge(tool.texts_of(module), locale)
    assert conflicts == []
    assert added["it"] == added["en"] == ["zz.inline", "zz.lists.count", "zz.lists.title"]
    italian, english = _texts(locale, "it"), _texts(locale, "en")
    assert italian["zz.lists.count"] == "{count} iscritti, {pending} in attesa"
    assert english["zz.inline"] == "Inline"
    assert {k: v for k, v in italian.items() if not k.startswith("zz.")} == before
    keys = [line for line in (locale / "it/LC_MESSAGES/messages.po").read_text().splitlines()
            if line.startswith("msgid ")]  # fmt: skip
    assert keys == sorted(keys)
    # Merging again adds nothing and changes nothing.
    text = (locale / "en/LC_MESSAGES/messages.po").read_text()
    assert tool.merge(tool.texts_of(module), locale) == ({}, [])
    assert (locale / "en/LC_MESSAGES/messages.po").read_text() == text


def test_a_key_with_another_text_is_refused_and_nothing_is_written(
    tool: ModuleType, locale: Path
) -> None:
    text = (locale / "it/LC_MESSAGES/messages.po").read_text()
    texts = {"it": {"site.title": "Un altro titolo", "zz.new": "Nuovo"}, "en": {"zz.new": "New"}}
    added, conflicts = tool.merge(texts, locale)
    assert len(conflicts) == 1 and "site.title" in conflicts[0]
    assert (locale / "it/LC_MESSAGES/messages.po").read_text() == text
    assert "zz.new" not in _texts(locale, "en")


def test_a_computed_text_is_refused(tool: ModuleType, tmp_path: Path) -> None:
    module = tmp_path / "bad_texts.py"
    module.write_text('N = 3\nTEXTS = {"it": {"zz.n": f"{N} volte"}}\n', encoding="utf-8")
    with pytest.raises(ValueError, match="string literals only"):
        tool.texts_of(module)
