"""Merge texts modules into the gettext catalogues (a developer's tool; not shipped).

    python tools/texts_to_po.py dispatcher/web/routes/admin/lists_texts.py [MODULE ...]

The web app's texts live in ``dispatcher/locale/{it,en}/LC_MESSAGES/messages.po``,
with the dotted key as msgid (``t("people.title")``). A module written before the
catalogues holds a literal ``TEXTS = {"it": {...}, "en": {...}}`` registered with
``add_texts(TEXTS)`` (or passes such a literal straight to ``add_texts(...)``). This
reads those literals with :mod:`ast` (the module is never imported), adds every
entry to both catalogues, sorted by key, and prints what it added. A key already in
a catalogue with another text is refused, and then nothing is written. Afterwards
delete the module (or its dict) and its ``add_texts`` call;
``tests/unit/test_catalogues.py`` fails while any such module remains.
"""

from __future__ import annotations

import ast
import sys
from pathlib import Path

from babel.messages.catalog import Catalog
from babel.messages.pofile import read_po, write_po

LANGUAGES = ("it", "en")
LOCALE = Path(__file__).resolve().parents[1] / "dispatcher" / "locale"
WIDTH = 100  # the project's line length


def catalogue_path(language: str, root: Path = LOCALE) -> Path:
    """The ``.po`` file of ``language`` under ``root``."""
    return root / language / "LC_MESSAGES" / "messages.po"


def texts_of(path: Path) -> dict[str, dict[str, str]]:
    """Every ``{"it": {...}, "en": {...}}`` literal the module names TEXTS or gives add_texts.

    :raises ValueError: if a literal is not plain strings (a spread, an f-string, a name)
    """
    found: dict[str, dict[str, str]] = {language: {} for language in LANGUAGES}
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), str(path))):
        for literal in _literals(node):
            try:
                value = ast.literal_eval(literal)
            except ValueError as exc:
                where = f"{path}:{literal.lineno}"
                raise ValueError(f"{where}: TEXTS must hold string literals only") from exc
            for language, entries in value.items():
                found.setdefault(language, {}).update(entries)
    return found


def _literals(node: ast.AST) -> list[ast.expr]:
    if isinstance(node, ast.Assign) and any(
        isinstance(target, ast.Name) and target.id == "TEXTS" for target in node.targets
    ):
        return [node.value]
    if isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name):
        return [node.value] if node.target.id == "TEXTS" and node.value else []
    if isinstance(node, ast.Call) and getattr(node.func, "id", "") == "add_texts":
        return [arg for arg in node.args if isinstance(arg, ast.Dict)]
    return []


def load(language: str, root: Path = LOCALE) -> Catalog:
    """The catalogue of ``language``, or an empty one if it has no file yet."""
    path = catalogue_path(language, root)
    if not path.is_file():
        return Catalog(locale=language, project="newsletter-dispatcher", fuzzy=False)
    with path.open("rb") as file:
        return read_po(file, locale=language, abort_invalid=True)


def save(catalogue: Catalog, language: str, root: Path = LOCALE) -> None:
    """Write the catalogue sorted by key, without source locations (stable diffs)."""
    path = catalogue_path(language, root)
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("wb") as file:
        write_po(file, catalogue, width=WIDTH, no_location=True, sort_output=True)


def merge(
    texts: dict[str, dict[str, str]], root: Path = LOCALE
) -> tuple[dict[str, list[str]], list[str]]:
    """Add ``texts`` to the catalogues under ``root``.

    :returns: the keys added per language, and the conflicts (nothing is written if any)
    """
    added: dict[str, list[str]] = {}
    conflicts: list[str] = []
    catalogues = {language: load(language, root) for language in LANGUAGES}
    for language, entries in texts.items():
        if language not in catalogues:
            conflicts.append(f"{language}: not a language of the catalogues {LANGUAGES}")
            continue
        catalogue = catalogues[language]
        for key, text in sorted(entries.items()):
            present = catalogue.get(key)
            if present is not None and present.string:
                if present.string != text:
                    conflicts.append(f"{language} {key}: {present.string!r} is there, not {text!r}")
                continue
            catalogue.add(key, text)
            added.setdefault(language, []).append(key)
    if not conflicts:
        for language, catalogue in catalogues.items():
            save(catalogue, language, root)
    return added, conflicts


def main(arguments: list[str]) -> int:
    if not arguments:
        print(__doc__, file=sys.stderr)
        return 2
    texts: dict[str, dict[str, str]] = {}
    for name in arguments:
        for language, entries in texts_of(Path(name)).items():
            for key, text in entries.items():
                if texts.setdefault(language, {}).setdefault(key, text) != text:
                    print(f"refused: {language} {key} has two texts in {arguments}")
                    return 1
    added, conflicts = merge(texts)
    for conflict in conflicts:
        print(f"refused: {conflict}")
    if conflicts:
        print("nothing written")
        return 1
    for language, keys in added.items():
        print(f"{catalogue_path(language).relative_to(LOCALE.parents[1])}: {len(keys)} added")
        for key in keys:
            print(f"  {key}")
    if not added:
        print("nothing to add: every text is already in the catalogues")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
