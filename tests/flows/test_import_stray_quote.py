"""A stray quote in a CSV file refuses the whole file, naming its line; nothing is stored.

A quote opened by mistake turns the rows after it into one quoted cell. The files here
are dirty the way offices' files are: thousands of rows, any supported encoding and
delimiter, legitimate notes quoted over several lines, and one stray quote at a random
line and column, left open to the end, closed by a later quoted cell, or closed by
another stray quote at the end of a later cell (the case a lenient reader swallows
silently). On SQLite and PostgreSQL the import is refused at the stray quote's line
and the database holds nobody; the same file without the stray quote imports every row.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from pathlib import Path

import pytest
from click.testing import CliRunner
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from dispatcher.cli.main import cli
from subscribers.errors import ImportFileError
from subscribers.importer import import_csv
from subscribers.models import Subscriber, Subscription
from subscribers.service import create_list
from tests.conftest import SECRET

Sessions = sessionmaker[Session]
ENCODINGS = ("utf-8", "utf-8-sig", "cp1252", "utf-16")
DELIMITERS = (";", ",", "\t")
NAMES = ("Nicolò", "Zoë", "Giulia D'Andrea", "Lucà", "Chiara")
SEEDS = range(4)


@dataclass
class DirtyFile:
    clean: bytes
    dirty: bytes
    stray_line: int
    rows: int


def make_file(seed: int) -> DirtyFile:
    """A file with legitimate multi-line notes, and the same with one stray quote."""
    pick = random.Random(seed)
    delimiter, encoding = pick.choice(DELIMITERS), pick.choice(ENCODINGS)
    count = pick.randrange(3000, 9000)
    rows = [["email", "nome", "note"]]
    for i in range(count):
        note = f'"prima riga{delimiter} {i}\nseconda riga"' if pick.random() < 0.05 else "ok"
        rows.append([f"persona.{i}@example.org", pick.choice(NAMES), note])
    stray_row = pick.randrange(2, count - 50)
    dirty = [list(row) for row in rows]
    column = pick.randrange(3)
    dirty[stray_row][column] = '"' + dirty[stray_row][column].lstrip('"')
    how = pick.choice(("open", "closed by a quoted cell", "closed by a stray quote"))
    if how == "open":  # no quoted cell after it: the quote runs to the end of the file
        dirty = dirty[: stray_row + 1] + [[r[0], r[1], "ok"] for r in dirty[stray_row + 1 :]]
    elif how == "closed by a quoted cell":
        closer = pick.randrange(stray_row + 1, stray_row + 40)
        dirty[closer][2] = '"chiusa qui" davvero'
    else:  # the second quote ends a later cell: a lenient reader swallows silently
        quoted = [r for r in dirty[stray_row + 1 : stray_row + 40] if r[2] != "ok"]
        for row in quoted:
            row[2] = "ok"
        dirty[pick.randrange(stray_row + 1, stray_row + 40)][1] += '"'
    line = 1 + sum(delimiter.join(r).count("\n") + 1 for r in dirty[:stray_row])

    def encoded(table: list[list[str]]) -> bytes:
        return ("\r\n".join(delimiter.join(r) for r in table) + "\r\n").encode(encoding)

    return DirtyFile(encoded(rows), encoded(dirty), line, count)


def stored(sessions: Sessions) -> tuple[int, int]:
    with sessions() as session:
        people = session.scalar(select(func.count()).select_from(Subscriber)) or 0
        subscriptions = session.scalar(select(func.count()).select_from(Subscription)) or 0
        return people, subscriptions


def run_import(sessions: Sessions, path: Path) -> int:
    with sessions.begin() as session:
        report = import_csv(session, path, "cronache", keys=(SECRET,), confirmed=True)
    assert report.skipped == [], report.skipped[:3]
    return len(report.imported)


@pytest.fixture(params=["sqlite", "postgresql"])
def sessions(request: pytest.FixtureRequest) -> Sessions:
    fixture = {"sqlite": "sqlite_sessions", "postgresql": "pg_sessions"}[request.param]
    made: Sessions = request.getfixturevalue(fixture)
    with made.begin() as session:
        create_list(session, "cronache", "Cronache")
    return made


@pytest.mark.parametrize("seed", SEEDS)
def test_a_stray_quote_refuses_the_file_at_its_line(
    sessions: Sessions, tmp_path: Path, seed: int
) -> None:
    file = make_file(seed)
    path = tmp_path / "soci.csv"
    path.write_bytes(file.dirty)
    with pytest.raises(ImportFileError) as refused:
        run_import(sessions, path)
    assert str(refused.value).startswith(f"{path}:{file.stray_line}: "), str(refused.value)
    assert "nothing was imported" in str(refused.value)
    assert stored(sessions) == (0, 0)
    path.write_bytes(file.clean)  # the notes over two lines are not what refused it
    assert run_import(sessions, path) == file.rows
    assert stored(sessions) == (file.rows, file.rows)


def test_the_command_names_the_line_stores_nothing_and_fails(
    pg_url: str, pg_sessions: Sessions, tmp_path: Path
) -> None:
    with pg_sessions.begin() as session:
        create_list(session, "cronache", "Cronache")
    file = make_file(7)
    path = tmp_path / "soci.csv"
    path.write_bytes(file.dirty)
    env = {"DATABASE_URL": pg_url, "SECRET_KEY": SECRET, "SECRET_KEY_FALLBACKS": ""}
    args = ["subscribers", "import", str(path), "--list", "cronache"]
    result = CliRunner().invoke(cli, args, env=env, catch_exceptions=False)
    assert result.exit_code == 1
    assert f"{path}:{file.stray_line}: " in result.output
    assert "imported" not in result.output.replace("nothing was imported", "")
    assert stored(pg_sessions) == (0, 0)
