"""Numbers past a column's range and oversized pasted editions, on SQLite (the demo's database).

A 400 naming the field, never a server error; a pasted edition that is too big is
refused with its text shown again, not lost.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest
from sqlalchemy.orm import Session, sessionmaker

from dispatcher.config import Settings
from dispatcher.transport.memory import MemoryTransport
from tests.support.admin import Desk, make_desk
from tests.support.data import create_newsletter

PNG = bytes.fromhex("89504e470d0a1a0a0000000d4948445200000001000000010806000000")
OUT_OF_RANGE = (2**63, 2**64, 10**30)


@pytest.fixture
def desk(
    make_settings: Callable[..., Settings],
    sqlite_url: str,
    sqlite_sessions: sessionmaker[Session],
) -> Iterator[Desk]:
    with sqlite_sessions.begin() as session:
        create_newsletter(session)
    yield make_desk(make_settings(database_url=sqlite_url), sqlite_sessions, MemoryTransport())


def test_an_id_past_the_column_range_in_a_form_is_a_400_naming_the_field(desk: Desk) -> None:
    with desk.client("editor") as editor:
        for number in OUT_OF_RANGE:
            answer = editor.post(
                "/admin/images",
                data={"alt": "logo", "edition_id": str(number)},
                files={"file": ("logo.png", PNG, "image/png")},
            )
            assert answer.status_code == 400, number
            assert "edition_id" in answer.text and "Traceback" not in answer.text


def test_ids_past_the_column_range_in_paths_are_400s(desk: Desk) -> None:
    with desk.client("admin") as admin:
        for number in (*OUT_OF_RANGE, 2**31):
            for path in (f"/admin/editions/{number}", f"/console/sends/{number}"):
                assert admin.http.get(path).status_code in (400, 404), path


def test_an_edition_pasted_over_one_megabyte_is_refused_and_shown_again(desk: Desk) -> None:
    text = "---\nnumber: 1\n---\n" + "Testo dell'edizione. " * 60_000 + "FINE-DEL-TESTO"
    assert len(text.encode()) > 1024 * 1024
    with desk.client("editor") as editor:
        answer = editor.post("/admin/editions", data={"source": text}, files={"file": ("", b"")})
    assert answer.status_code == 400
    assert "1 MB" in answer.text and "FINE-DEL-TESTO" in answer.text
