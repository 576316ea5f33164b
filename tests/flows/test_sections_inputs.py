"""Dirty inputs around sections, from the command line, and approval of what varies (issue 14).

An article naming a section the newsletter does not have is refused with the file and
the line; a CSV naming one is imported with a note that names the line and the column;
an approval covers the English texts and which article goes to which section.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from click.testing import Result
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from dispatcher.office import approvals
from dispatcher.office.edition_store import add_edition, update_edition
from dispatcher.preflight import run_preflight
from subscribers.models import Subscriber
from tests.support.admin import Desk
from tests.support.data import EDITION_HEAD, NEWSLETTER_FILE

Invoke = Callable[..., Result]

EDITION = (
    EDITION_HEAD
    + """\
en:
  subject: Subject of the week
---

## Per tutti

Testo per tutti.

a.r.a.

## [en] For everyone

Text for everyone.

a.r.a.

## Lavoro
sezione: lavoro

Testo sul lavoro.

b.c.d.
"""
)


@pytest.fixture
def configured(invoke: Invoke) -> Invoke:
    result = invoke("lists", "configure", "cronache", "--settings", str(NEWSLETTER_FILE))
    assert result.exit_code == 0, result.output
    return invoke


def test_an_article_in_an_unknown_section_is_refused_naming_file_and_line(
    configured: Invoke, tmp_path: Path
) -> None:
    path = tmp_path / "n45.md"
    path.write_text(EDITION.replace("sezione: lavoro", "sezione: sport"), encoding="utf-8")
    result = configured("editions", "add", str(path))
    assert result.exit_code != 0
    line = EDITION.splitlines().index("sezione: lavoro") + 1
    assert f'{path}:{line}: [body] unknown section "sport"' in result.output
    assert "ambiente, cultura, istruzione, lavoro, territorio" in result.output

    path.write_text(EDITION, encoding="utf-8")
    assert configured("editions", "add", str(path)).exit_code == 0


def test_a_csv_naming_an_unknown_section_is_reported_with_line_and_column(
    configured: Invoke, pg_sessions: sessionmaker[Session], tmp_path: Path
) -> None:
    path = tmp_path / "people.csv"
    path.write_text(
        "email;sezioni\n"
        "anna@example.org;Ambiente, lavoro\n"
        "bea@example.org;sport|CULTURA E TURISMO\n"  # line 3: one unknown, one by its name
        "carla@example.org;\n",
        encoding="utf-8",
    )
    result = configured("subscribers", "import", str(path), "--list", "cronache", "--confirmed")
    assert result.exit_code == 0, result.output
    assert f"{path}:3: note: sections: 'sport' is not a section of this newsletter" in (
        result.output
    )
    assert "imported 3" in result.output
    with pg_sessions() as session:
        chosen = dict(session.execute(select(Subscriber.email, Subscriber.attributes)).all())
    assert chosen == {
        "anna@example.org": {"sections": ["ambiente", "lavoro"]},
        "bea@example.org": {"sections": ["cultura"]},
        "carla@example.org": {},
    }


def test_the_approval_covers_the_english_texts_and_the_sections(
    desk: Desk, newsletter: int
) -> None:
    with desk.sessions.begin() as session:
        report = run_preflight(
            session, _add(session, desk, EDITION), desk.settings, spamassassin=False
        )
    assert report.errors == []
    with desk.sessions.begin() as session:
        edition_id = _add(session, desk, EDITION.replace("number: 44", "number: 45"))
        before = approvals.approval_hash(session, approvals.get_edition(session, edition_id))
    changes = (
        EDITION.replace("Text for everyone.", "Text for all of you."),  # English only
        EDITION.replace("sezione: lavoro", "sezione: ambiente"),  # who gets the article
    )
    for changed in changes:
        with desk.sessions.begin() as session:
            text = changed.replace("number: 44", "number: 45")
            edition = update_edition(session, edition_id, text, "n45.md", desk.settings)
            assert approvals.approval_hash(session, edition) != before
    with desk.sessions.begin() as session:
        edition = update_edition(
            session,
            edition_id,
            EDITION.replace("number: 44", "number: 45"),
            "n45.md",
            desk.settings,
        )
        assert approvals.approval_hash(session, edition) == before


def _add(session: Session, desk: Desk, text: str) -> int:
    return add_edition(session, text, "n.md", desk.settings).id


def test_the_desk_previews_the_english_version_the_approval_covers(
    desk: Desk, newsletter: int
) -> None:
    with desk.sessions.begin() as session:
        edition_id = _add(session, desk, EDITION)
    with desk.client("approver") as reader:
        page = reader.http.get(f"/admin/editions/{edition_id}/preview").text
        english = reader.http.get(f"/admin/editions/{edition_id}/preview?lingua=en").text
        frame = reader.http.get(f"/admin/editions/{edition_id}/preview/html?lingua=en").text
    assert "?lingua=en" in page and "For everyone" not in page.split('id="text-part"')[1]
    text = english.split('id="text-part"')[1]
    assert "For everyone" in text and "Unsubscribe &lt;" in text
    assert 'lang="en"' in frame and "For everyone" in frame and "ZqSLOT" not in frame
