"""The web's texts: gettext catalogues that parse, agree with each other and hold every key used.

Each failure lists what is wrong, so one run says everything there is to fix. How to add
a text: README, "Translations".
"""

from __future__ import annotations

import ast
import re
import string
from pathlib import Path

import pytest
from babel.messages.pofile import read_po

from dispatcher.resources import catalogue_file, web_templates_dir
from dispatcher.web.i18n import CATALOGUE, LANGUAGES, load_catalogue
from dispatcher.web.routes.public_privacy import NOTICE_PARAGRAPHS

ROOT = Path(__file__).resolve().parents[2]
CODE = [*(ROOT / "dispatcher").rglob("*.py"), *(ROOT / "subscribers").rglob("*.py")]
KEY = re.compile(r"[a-z_]+(\.[a-z0-9_]+)+")
# t("key"...) in a template: the key is the first argument, a literal.
TEMPLATE_CALL = re.compile(r"""\bt\(\s*["']([\w.]+)["']""")
# Calls whose literal dotted-string arguments are catalogue keys.
TRANSLATING = {"t", "translate", "flash", "error_response", "coded", "Problem", "fail"}
# Keyword arguments that are catalogue keys, whatever the call.
KEY_ARGUMENTS = {"problem_key"}
# Keys made from a prefix and a value at run time: every value they can take.
COMPUTED = {
    "calendar.refused_": ("block", "holiday", "hours"),
    "send.not_": ("paused", "resumed", "cancelled", "retried"),
    "privacy.notice_": tuple(str(n) for n in range(1, NOTICE_PARAGRAPHS + 1)),
}


def test_every_catalogue_parses_without_fuzzy_or_duplicate_entries() -> None:
    for language in LANGUAGES:
        with catalogue_file(language).open("rb") as file:
            catalogue = read_po(file, locale=language, abort_invalid=True)
        fuzzy = [m.id for m in catalogue if m.id and m.fuzzy]
        assert not fuzzy, (language, fuzzy)
        assert load_catalogue(language) == CATALOGUE[language]


def test_english_has_every_italian_key_and_nothing_more() -> None:
    missing = sorted(set(CATALOGUE["it"]) - set(CATALOGUE["en"]))
    extra = sorted(set(CATALOGUE["en"]) - set(CATALOGUE["it"]))
    assert not missing, f"English lacks {len(missing)} keys: {missing}"
    assert not extra, f"English has keys Italian lacks: {extra}"


def _placeholders(text: str) -> set[str]:
    return {name for _, name, _, _ in string.Formatter().parse(text) if name is not None}


def test_placeholders_match_between_the_languages() -> None:
    wrong = []
    for key, italian in CATALOGUE["it"].items():
        english = CATALOGUE["en"].get(key)
        if english is not None and _placeholders(italian) != _placeholders(english):
            wrong.append((key, sorted(_placeholders(italian)), sorted(_placeholders(english))))
    assert not wrong, wrong


def _keys_in_templates() -> set[str]:
    found: set[str] = set()
    for template in web_templates_dir().rglob("*.html"):
        found |= {k for k in TEMPLATE_CALL.findall(template.read_text()) if not k.endswith(".")}
    return found


def _call_name(node: ast.Call) -> str:
    func = node.func
    return func.id if isinstance(func, ast.Name) else getattr(func, "attr", "")


def _keys_in_code() -> set[str]:
    """Dotted literals passed to t/translate/flash/error_response, and error keys."""
    found: set[str] = set()
    for path in CODE:
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            if not isinstance(node, ast.Call):
                continue
            args = [k.value for k in node.keywords if k.arg in KEY_ARGUMENTS]
            if _call_name(node) in TRANSLATING:
                args += [*node.args, *(k.value for k in node.keywords)]
            for arg in args:
                for leaf in ast.walk(arg):
                    if isinstance(leaf, ast.Constant) and isinstance(leaf.value, str):
                        found |= {leaf.value} if KEY.fullmatch(leaf.value) else set()
    found -= set(COMPUTED)  # the literal part of f"calendar.refused_{kind}" and the like
    for prefix, values in COMPUTED.items():
        found |= {prefix + value for value in values}
    return found


def test_every_key_a_template_uses_has_an_italian_text() -> None:
    keys = _keys_in_templates()
    assert len(keys) > 300
    missing = sorted(keys - set(CATALOGUE["it"]))
    assert not missing, f"templates use keys with no Italian text: {missing}"


def test_every_key_the_code_uses_has_an_italian_text() -> None:
    keys = _keys_in_code()
    assert {"edition.unknown_field", "send.already_sent", "console.down_redis"} <= keys
    # Audit actions and file names look like keys too: only the namespaces of texts count.
    namespaces = {key.split(".")[0] for key in CATALOGUE["it"]}
    missing = sorted(k for k in keys if k.split(".")[0] in namespaces and k not in CATALOGUE["it"])
    assert not missing, f"the code uses keys with no Italian text: {missing}"


def test_every_preflight_finding_has_a_text() -> None:
    missing = []
    for path in (ROOT / "dispatcher" / "preflight").glob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Call) and _call_name(node) in ("error", "warn"):
                first = node.args[0] if node.args else None
                if isinstance(first, ast.Constant) and isinstance(first.value, str):
                    kind = "error" if _call_name(node) == "error" else "warning"
                    key = f"preflight.{kind}.{first.value}"
                    missing += [key] if key not in CATALOGUE["it"] else []
    # link_problem's codes reach report.error through a variable.
    missing += [k for k in ("preflight.error.link.malformed", "preflight.error.link.scheme")
                if k not in CATALOGUE["it"]]  # fmt: skip
    assert not missing, missing


def _texts_modules() -> list[str]:
    """Modules that still hold texts in Python: a ``*_texts.py`` with TEXTS, or add_texts({...})."""
    left = []
    for path in CODE:
        tree = ast.parse(path.read_text(), str(path))
        for node in ast.walk(tree):
            named = isinstance(node, ast.Assign) and any(
                isinstance(t, ast.Name) and t.id == "TEXTS" for t in node.targets
            )
            literal = (
                isinstance(node, ast.Call)
                and _call_name(node) == "add_texts"
                and any(isinstance(a, ast.Dict) for a in node.args)
            )
            if (named and path.name.endswith("_texts.py")) or literal:
                left.append(str(path.relative_to(ROOT)))
                break
    return left


def test_no_texts_are_left_in_python_modules() -> None:
    left = _texts_modules()
    assert not left, (
        f"move these texts into the catalogues: python tools/texts_to_po.py {' '.join(left)}"
        " (then delete the module and its add_texts call)"
    )


@pytest.mark.parametrize("language", LANGUAGES)
def test_no_text_gives_command_line_advice(language: str) -> None:
    # "--again", "dispatcher lists create ..."
    command = re.compile(r"\s--[a-z]|\bdispatcher [a-z]+ [a-z]")
    advice = sorted(k for k, text in CATALOGUE[language].items() if command.search(text))
    assert not advice, advice
