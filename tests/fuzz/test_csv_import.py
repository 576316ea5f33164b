"""CSV imports under fuzzing: a report with the file's own line numbers, or a file-level error.

Arbitrary bytes, and messy files built the way offices make them (any encoding, any
delimiter, headers in any case and language, quoted cells with delimiters and line
breaks, formulas, hostile addresses, very long names), either import with a report
whose every line number is a line of the file, or are refused with an ImportFileError
naming the file and line. A refused file changes nothing in the database.
The database is the real PostgreSQL, which is the stricter of the two (no NUL in text,
lengths enforced); each example's import is rolled back.
"""

from __future__ import annotations

import codecs
import csv
import io
import re
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Literal

import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st
from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session, sessionmaker

from subscribers.csvfile import CsvFile, parse_csv
from subscribers.csvtext import SNIFF_CHARS, decode
from subscribers.errors import ImportFileError
from subscribers.importer import (
    ImportReport,
    collect_people,
    import_csv,
    import_records,
    new_report,
)
from subscribers.models import Subscriber, Subscription
from subscribers.service import create_list
from tests.conftest import SECRET
from tests.fuzz.strategies import awkward_text

PATH = Path("ufficio/soci.csv")
KEYS = (SECRET,)
Sessions = sessionmaker[Session]
DB_SETTINGS = settings(
    max_examples=120, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)


def physical_lines(data: bytes) -> int:
    """How many lines the file has, counted as the CSV reader counts them."""
    text, _ = decode(data, PATH)
    return len(io.StringIO(text, newline="").readlines())


def read(data: bytes) -> CsvFile | ImportFileError:
    """Parse ``data``; only a CsvFile or an ImportFileError naming file and line may come out."""
    try:
        return parse_csv(data, PATH)
    except ImportFileError as error:
        located = re.match(rf"{re.escape(str(PATH))}:(\d+): \S", str(error))
        assert located, str(error)
        assert 1 <= int(located.group(1)) <= max(1, data.count(b"\n") + data.count(b"\r") + 1)
        return error


def check_lines(report: ImportReport, data: bytes) -> None:
    """Every line the report names is a data line of the file, and no line has two outcomes."""
    last = physical_lines(data)
    outcomes = report.imported + report.updated + [note.line for note in report.skipped]
    assert len(outcomes) == len(set(outcomes)), report
    for line in outcomes + [note.line for note in report.notes]:
        assert 2 <= line <= last, (line, last, report)


# --- arbitrary bytes ----------------------------------------------------------------------


@settings(max_examples=400, deadline=None)
@given(st.binary(max_size=600))
def test_arbitrary_bytes_are_read_or_refused_naming_the_file(data: bytes) -> None:
    source = read(data)
    if isinstance(source, CsvFile):
        report = new_report(source)
        collect_people(source.records, report)
        check_lines(report, data)


@settings(max_examples=300, deadline=None)
@given(awkward_text, st.sampled_from(["utf-8", "utf-8-sig", "utf-16", "cp1252", "latin-1"]))
def test_arbitrary_text_under_an_email_header_is_read_or_refused(text: str, encoding: str) -> None:
    data = ("email;nome\n" + text).encode(encoding, errors="replace")
    source = read(data)
    if isinstance(source, CsvFile):
        report = new_report(source)
        collect_people(source.records, report)
        check_lines(report, data)


# --- messy files, imported into the database ---------------------------------------------

HEADERS = {
    "email": ("email", "E-mail", " Indirizzo Email ", "EMAIL", "Posta elettronica", "mail"),
    "name": ("nome", "Name", "Nome e cognome", "NOMINATIVO"),
    "surname": ("Cognome", "last name"),
    "language": ("lingua", "Language"),
    "sections": ("sezioni", "Rubriche"),
    "other": ("note", "", "telefono", "email", "=SUM(A1)", "nome"),
}
HOSTILE_ADDRESSES = (
    "a@example.org>\r\nBcc: evil@example.net",
    "<mario@example.org>",
    "mailto:MARIO@Example.ORG",
    "  mario@example.org\u200b ",
    "mario@@example.org",
    "mario@example..org",
    '=HYPERLINK("http://evil")',
    "'=mario@example.org",
    "mario@exämple.org",
    "marió@example.org",
    "m" * 65 + "@example.org",
    "mario@" + "d" * 250 + ".org",
    "mario@localhost",
    "mario@[127.0.0.1]",
    '"mario rossi"@example.org',
    "mario@example.org\x00",
    "",
)
cells = st.one_of(
    st.emails(),
    st.emails().map(str.upper),
    st.sampled_from(HOSTILE_ADDRESSES),
    awkward_text,
    st.sampled_from(("=1+1", "+39 011", "-", "@x", "it", "Italiano", "EN-gb", "a, b | c")),
    st.builds(lambda c, n: c * n, st.sampled_from('aé;"\n'), st.integers(150, 3000)),
)


@st.composite
def messy_files(draw: st.DrawFn) -> bytes:
    """A CSV as a spreadsheet or a person might have saved it."""
    kinds = draw(st.lists(st.sampled_from(sorted(HEADERS)), min_size=1, max_size=6))
    header = [draw(st.sampled_from(HEADERS[kind])) for kind in kinds]
    if draw(st.booleans()):
        header.insert(draw(st.integers(0, len(header))), draw(st.sampled_from(HEADERS["email"])))
    rows = draw(st.lists(st.lists(cells, max_size=len(header) + 2), max_size=12))
    delimiter = draw(st.sampled_from(";,\t|"))
    ending = draw(st.sampled_from(["\r\n", "\n", "\r"]))
    if draw(st.booleans()):
        out = io.StringIO()
        quoting: Literal[0, 1] = csv.QUOTE_ALL if draw(st.booleans()) else csv.QUOTE_MINIMAL
        csv.writer(out, delimiter=delimiter, lineterminator=ending, quoting=quoting).writerows(
            [header, *rows]
        )
        text = out.getvalue()
    else:  # written by hand: delimiters, quotes and line breaks in cells left as they are
        text = ending.join(delimiter.join(row) for row in [header, *rows])
    if draw(st.booleans()):
        text = f"sep={delimiter}{ending}" + text
    encoding = draw(st.sampled_from(["utf-8", "utf-8-sig", "utf-16", "cp1252", "latin-1"]))
    return text.encode(encoding, errors="replace")


@pytest.fixture
def sessions(pg_sessions: Sessions) -> Sessions:
    with pg_sessions.begin() as session:
        create_list(session, "cronache", "Cronache da Palazzo Cisterna")
    return pg_sessions


@contextmanager
def rolled_back(sessions: Sessions) -> Iterator[Session]:
    """A session whose work is always rolled back, so each example starts from the same state."""
    with sessions() as session, session.begin() as transaction:
        yield session
        transaction.rollback()


def counts(session: Session) -> tuple[int, int]:
    subscribers = session.scalar(select(func.count()).select_from(Subscriber))
    subscriptions = session.scalar(select(func.count()).select_from(Subscription))
    return int(subscribers or 0), int(subscriptions or 0)


@DB_SETTINGS
@given(messy_files(), st.booleans())
def test_a_messy_file_imports_with_a_report_of_its_own_lines(
    sessions: Sessions, data: bytes, confirmed: bool
) -> None:
    source = read(data)
    assume(isinstance(source, CsvFile))
    assert isinstance(source, CsvFile)
    with rolled_back(sessions) as session:
        report = import_records(session, source, "cronache", keys=KEYS, confirmed=confirmed)
        check_lines(report, data)
        # A fresh list: every person the report imported is there, and nobody else.
        assert report.updated == []
        assert counts(session) == (len(report.imported), len(report.imported))


@DB_SETTINGS
@given(st.one_of(messy_files(), st.binary(max_size=300)), st.sampled_from(["", "\x00", "\ufffe"]))
def test_a_refused_file_changes_nothing(
    sessions: Sessions, tmp_path_factory: pytest.TempPathFactory, data: bytes, spoiler: str
) -> None:
    # Something already stored, which a half-done import could disturb.
    path = tmp_path_factory.mktemp("csv") / "soci.csv"
    path.write_bytes(b"email;nome\ngia.presente@example.org;Gia\n")
    with sessions.begin() as session:
        import_csv(session, path, "cronache", keys=KEYS)
        before = counts(session)
    # The spoiler goes at the end, after rows that would import: it must spoil the whole file.
    path.write_bytes(
        data + spoiler.encode("utf-16-le" if data[:2] == codecs.BOM_UTF16_LE else "utf-8")
    )
    try:
        with sessions.begin() as session:
            import_csv(session, path, "cronache", keys=KEYS, confirmed=True)
    except ImportFileError as error:
        assert str(error).startswith(f"{path}:")
        with sessions() as session:
            assert counts(session) == before
    finally:
        with sessions.begin() as session:
            session.execute(delete(Subscription))
            session.execute(delete(Subscriber))


def test_a_nul_after_the_sniffed_part_refuses_the_whole_file() -> None:
    # The check for binary data looks at the start of a file; a NUL further on must
    # not reach PostgreSQL, whose text columns refuse it (a crash, not a report).
    count = SNIFF_CHARS // 25
    rows = "".join(f"persona{i}@example.org;Nome {i}\n" for i in range(count))
    for encoding in ("utf-16", "utf-8"):
        data = ("email;nome\n" + rows + "ultimo@example.org;Nu\x00ll\n").encode(encoding)
        # Refused as a whole, like any binary file (at line 1).
        with pytest.raises(ImportFileError, match=rf"{re.escape(str(PATH))}:1: binary data"):
            parse_csv(data, PATH)
