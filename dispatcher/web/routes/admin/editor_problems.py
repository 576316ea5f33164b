"""The parser's located errors, put at the form's field, in the page's language.

:class:`~dispatcher.errors.EditionFileError` names the field (``cover.image_alt``,
``highlights[2].title``) or, in the articles, only the file's line: the line is turned
into the article's title, text (with the line inside it) or initials by the table
:func:`~dispatcher.web.routes.admin.editor_draft.write_source` kept. The problem itself,
written in English for the command line, is matched against the known wordings and
said again with a text key; one not known keeps its words inside an explained frame.
"""

from __future__ import annotations

import re

from dispatcher.errors import EditionFileError
from dispatcher.web.routes.admin.editor_draft import EditionDraft, FieldError, Written

# (wording, text key); groups become the values a, b. First match wins.
_KNOWN: tuple[tuple[re.Pattern[str], str], ...] = tuple(
    (re.compile(pattern, re.DOTALL), key)
    for pattern, key in (
        (r"is empty", "editor.p.empty"),
        (r"must be on one line", "editor.one_line"),
        (r"is (\d+) characters long: keep it within (\d+)", "editor.p.long"),
        (r'"(.*)" must start with (.+)', "editor.p.scheme"),
        (r'"(.*)" contains spaces, quotes or other characters.*', "editor.p.url_chars"),
        (r"the address is longer than (\d+) characters", "editor.p.url_long"),
        (r'"(.*)" has no email address after mailto:', "editor.p.mailto"),
        (r'"(.*)" has no site name.*', "editor.p.no_site"),
        (r"contains an invisible control character.*", "editor.p.control"),
        (r".*contains an invisible control character.*", "editor.p.control"),
        (r'contains ".*", which is reserved.*', "editor.p.reserved"),
        (r'"(.*)" is not a whole number above zero.*', "editor.p.not_number"),
        (r".* is too large for an edition number", "editor.p.number_large"),
        (r'"(.*)" is not a date.*', "editor.p.not_date"),
        (r'"(.*)" is not a real date.*', "editor.p.not_real_date"),
        (r"the image has no alt text.*", "editor.p.no_alt"),
        (r"alt text is given but there is no image", "editor.p.alt_no_image"),
        (r'the article "(.*)" must end with its author.*', "editor.p.article_no_initials"),
        (r'the article "(.*)" has no text', "editor.p.article_no_text"),
        (r"the picture (\S+) has no alt text.*", "editor.p.picture_alt"),
        (r"use ## for article titles.*", "editor.heading"),
        (r"there are no articles.*", "editor.no_articles"),
    )
)
# Prefixes the body checker puts before a text problem ("the article title is empty").
_PREFIXES = ("the article title ", "the text ")


def explain(problem: str) -> tuple[str, dict[str, str]]:
    """The text key and values saying ``problem`` (``editor.p.other`` keeps its words)."""
    for prefix in _PREFIXES:
        if problem.startswith(prefix):
            problem = problem[len(prefix) :]
    for pattern, key in _KNOWN:
        found = pattern.fullmatch(problem)
        if found:
            values = dict(zip(("a", "b"), found.groups(), strict=False))
            if key == "editor.p.scheme":
                values["b"] = values["b"].split(" or ")[0]  # the preferred one
            return key, values
    return "editor.p.other", {"a": problem}


def field_error(error: EditionFileError, draft: EditionDraft, written: Written) -> FieldError:
    """The form field (and line in an article's text) an error of the written file is about."""
    key, values = explain(error.problem)
    line: int | None = None
    if error.field and error.field != "body":
        name = _row_field(error.field, draft)
    elif error.line is not None:
        name, line = written.field_at(error.line)
    else:
        name = "subject"
    return FieldError(name, key, line, values)


def _row_field(name: str, draft: EditionDraft) -> str:
    """``highlights[2].title`` (the parser's second item) as the form's row key."""
    found = re.fullmatch(r"highlights\[(\d+)\]\.(\w+)", name)
    if found is None:
        return name if name != "newsletter" else "subject"
    index = int(found[1]) - 1
    key = draft.highlights[index].key if index < len(draft.highlights) else index + 1
    return f"highlights[{key}].{found[2]}"
