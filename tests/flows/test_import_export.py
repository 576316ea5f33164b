"""CSV import and export against real databases, with the office's messy files.

Each sample file in ``tests/data/csv`` is imported and its report checked line by
line. The tests run on PostgreSQL (the production database) and SQLite (the
embedded default), except the CLI ones, which run on PostgreSQL.
"""

from __future__ import annotations

import codecs
import io
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from subscribers import importer
from subscribers.errors import ImportFileError
from subscribers.export import export_csv
from subscribers.importer import ImportReport, import_csv
from subscribers.models import Subscriber, Subscription
from subscribers.orm import SubscriptionStatus
from subscribers.service import find_subscriber
from subscribers.suppression import SuppressionReason, suppress
from tests.conftest import SECRET
from tests.support.data import add_import_lists

DATA = Path(__file__).parents[1] / "data" / "csv"
KEYS = (SECRET,)
Sessions = sessionmaker[Session]


@pytest.fixture(params=["postgresql", "sqlite"])
def sessions(request: pytest.FixtureRequest) -> Sessions:
    name = "pg_sessions" if request.param == "postgresql" else "sqlite_sessions"
    factory: Sessions = request.getfixturevalue(name)
    with factory.begin() as session:
        add_import_lists(session)
    return factory


def run_import(
    sessions: Sessions, path: Path, slug: str = "cronache", confirmed: bool = False
) -> ImportReport:
    with sessions.begin() as session:
        return import_csv(session, path, slug, keys=KEYS, confirmed=confirmed)


def skipped(report: ImportReport) -> list[tuple[int, str]]:
    return [(note.line, note.reason) for note in report.skipped]


def people(sessions: Sessions, slug: str = "cronache") -> dict[str, tuple[str, str, str]]:
    """email -> (name, language, status) of everyone on a list."""
    with sessions() as session:
        rows = session.execute(
            select(Subscriber.email, Subscriber.name, Subscriber.language, Subscription.status)
            .join(Subscription, Subscription.subscriber_id == Subscriber.id)
            .join(Subscription.mailing_list)
            .where(Subscription.mailing_list.has(slug=slug))
        )
        return {email: (name, language, status) for email, name, language, status in rows}


def write(tmp_path: Path, text: str, encoding: str = "utf-8") -> Path:
    path = tmp_path / "people.csv"
    path.write_bytes(text.encode(encoding))
    return path


# --- the sample files, line by line ------------------------------------------------------------


def test_utf8_bom_semicolons_and_italian_headers(sessions: Sessions) -> None:
    report = run_import(sessions, DATA / "utf8_bom_semicolon_italian.csv")
    assert (report.encoding, report.delimiter) == ("utf-8-sig", ";")
    assert report.columns == {
        "email": "Indirizzo E-mail", "name": "Nome", "surname": "Cognome", "language": "Lingua",
    }  # fmt: skip
    assert report.imported == [2, 3, 8]
    assert report.updated == []
    assert skipped(report) == [(5, "invalid address"), (6, "duplicate"), (7, "no address")]
    assert "same address as line 3" in report.skipped[1].detail
    assert [(n.line, n.reason) for n in report.notes] == [(8, "language")]
    assert people(sessions) == {
        "mario.rossi@example.org": ("Mario Rossi", "it", "pending"),
        "GIULIA.Bianchi@example.org": ("Giulia Bianchi", "en", "pending"),
        "luca.ferrero@example.org": ("Luca Ferrero", "it", "pending"),
    }


def test_cp1252_file_with_accented_names(sessions: Sessions) -> None:
    report = run_import(sessions, DATA / "cp1252_accents.csv")
    assert (report.encoding, report.ignored_columns) == ("cp1252", ("Città",))
    assert (report.imported, skipped(report)) == ([2, 3, 5], [])
    names = {name for name, _, _ in people(sessions).values()}
    assert names == {"Nicolò Bianchi", "Zoë D’Andrea", "François Müller — “ospite”"}


def test_latin1_file_reads_right(sessions: Sessions) -> None:
    report = run_import(sessions, DATA / "latin1_names.csv")
    assert (report.encoding, report.delimiter, report.imported) == ("cp1252", ",", [2, 3])
    assert {n for n, _, _ in people(sessions).values()} == {"José García", "Ågnes Hølm"}


def test_tab_separated_file_with_english_headers(sessions: Sessions) -> None:
    report = run_import(sessions, DATA / "tabs_english.csv")
    assert (report.delimiter, report.imported, skipped(report)) == ("\t", [2, 4], [])
    assert people(sessions) == {
        "anna.verdi@example.org": ("Anna Verdi", "en", "pending"),
        "paolo.neri@example.org": ("Paolo Neri", "it", "pending"),
    }


def test_quoted_fields_with_newlines_and_delimiters_keep_line_numbers(sessions: Sessions) -> None:
    report = run_import(sessions, DATA / "quoted_multiline.csv")
    assert report.imported == [2, 4, 5, 10]
    assert skipped(report) == [(8, "invalid address")]
    assert "'not an address'" in report.skipped[0].detail
    found = people(sessions)
    assert found["a@example.org"][0] == "Rossi, Mario"
    assert found["b@example.org"][0] == "Verdi; Anna"
    assert found["c@example.org"][0] == 'Bianchi "Gigi" Luigi'


def test_duplicates_differing_in_case_and_spaces_are_merged(sessions: Sessions) -> None:
    report = run_import(sessions, DATA / "duplicates.csv")
    assert report.imported == [2, 5]
    assert skipped(report) == [(3, "duplicate"), (4, "duplicate"), (6, "duplicate")]
    # The first spelling is kept; a later line fills the name it lacked.
    assert people(sessions) == {
        "Marco.Gallo@example.org": ("Marco Gallo", "it", "pending"),
        "chiara.bruno@example.net": ("Chiara Bruno", "it", "pending"),
    }


def test_addresses_merge_with_existing_people_whatever_the_case(
    sessions: Sessions, tmp_path: Path
) -> None:
    run_import(sessions, write(tmp_path, "email;nome\nMARCO.GALLO@EXAMPLE.ORG;Marco\n"), "eventi")
    report = run_import(sessions, DATA / "duplicates.csv")
    assert report.imported == [2, 5]  # a new subscription to this list for the same person
    with sessions() as session:
        assert session.scalar(select(func.count()).select_from(Subscriber)) == 2
    assert people(sessions, "eventi") == {
        "MARCO.GALLO@example.org": ("Marco Gallo", "it", "pending")
    }


def test_letters_whose_lower_case_python_and_the_database_disagree_on(
    sessions: Sessions, tmp_path: Path
) -> None:
    # Python lower-cases "İ" to "i" and a combining dot; PostgreSQL to "i" alone, and
    # SQLite's lower() leaves it as it is. The database decides who is the same person.
    text = "email;nome\nİsa.Öz@example.org;Isa\nÉmile@example.org;Emile\n"
    first = run_import(sessions, write(tmp_path, text), "eventi")
    again = run_import(sessions, write(tmp_path, text))
    assert first.imported == [2, 3] and again.imported == [2, 3]
    with sessions() as session:
        assert session.scalar(select(func.count()).select_from(Subscriber)) == 2
    assert set(people(sessions)) == {"İsa.Öz@example.org", "Émile@example.org"}
    assert run_import(sessions, write(tmp_path, text)).updated == [2, 3]
    with sessions() as session:  # the sign-up, the privacy requests and bounces look up so
        assert find_subscriber(session, " İSA.Öz@EXAMPLE.ORG") is not None


def test_invalid_addresses_are_reported_with_their_lines(sessions: Sessions) -> None:
    report = run_import(sessions, DATA / "invalid_addresses.csv")
    assert report.imported == [8]
    assert skipped(report) == [(line, "invalid address") for line in range(2, 8)]
    assert "'mario@example'" in report.skipped[4].detail


def test_header_only_file_imports_nobody(sessions: Sessions) -> None:
    report = run_import(sessions, DATA / "header_only.csv")
    assert (report.imported, report.updated, report.skipped, report.valid_rows) == ([], [], [], 0)


@pytest.mark.parametrize(
    ("name", "message"),
    [("garbage.bin", "garbage.bin:1: binary data"), ("no_email_column.csv", ":1: no email column")],
)
def test_files_that_cannot_be_imported_name_file_and_line(
    sessions: Sessions, name: str, message: str
) -> None:
    with pytest.raises(ImportFileError, match=message):
        run_import(sessions, DATA / name)
    assert people(sessions) == {}


# --- who must not come back ----------------------------------------------------------------------


def test_unsubscribed_bounced_and_suppressed_people_are_not_subscribed_again(
    sessions: Sessions, tmp_path: Path
) -> None:
    first = "email\nleft@example.org\nbounced@example.org\nstays@example.org\n"
    run_import(sessions, write(tmp_path, first), confirmed=True)
    with sessions.begin() as session:
        for email, status in (
            ("left@example.org", "unsubscribed"),
            ("bounced@example.org", "bounced"),
        ):
            subscriber_id = session.scalar(select(Subscriber.id).where(Subscriber.email == email))
            row = session.scalars(select(Subscription).filter_by(subscriber_id=subscriber_id)).one()
            row.status = status
        suppress(session, KEYS, "Complained@Example.org", SuppressionReason.COMPLAINT)
        suppress(session, KEYS, "stays@example.org", SuppressionReason.HARD_BOUNCE)
    again = (
        "email;nome\nLEFT@example.org;L\nbounced@example.org;B\ncomplained@example.org;C\n"
        "stays@example.org;S\nnew@example.org;N\n"
    )
    report = run_import(sessions, write(tmp_path, again), confirmed=True)
    assert report.imported == [6]
    assert skipped(report) == [
        (2, "unsubscribed"), (3, "bounced"), (4, "suppressed"), (5, "suppressed"),
    ]  # fmt: skip
    assert "complaint" in report.skipped[2].detail
    statuses = {email: status for email, (_, _, status) in people(sessions).items()}
    assert statuses == {
        "left@example.org": "unsubscribed", "bounced@example.org": "bounced",
        "stays@example.org": "confirmed", "new@example.org": "confirmed",
    }  # fmt: skip


def test_left_one_list_can_still_be_imported_into_another(
    sessions: Sessions, tmp_path: Path
) -> None:
    path = write(tmp_path, "email\nperson@example.org\n")
    run_import(sessions, path)
    with sessions.begin() as session:
        session.execute(Subscription.__table__.update().values(status="unsubscribed"))
    assert run_import(sessions, path, "eventi").imported == [2]


def test_confirmed_import_confirms_pending_people_and_reimport_updates(
    sessions: Sessions, tmp_path: Path
) -> None:
    run_import(sessions, write(tmp_path, "email;nome\na@example.org;Anna\nb@example.org;Bea\n"))
    report = run_import(
        sessions,
        write(tmp_path, "email;nome;lingua\nA@example.org;Anna Rossi;en\nb@example.org;;\n"),
        confirmed=True,
    )
    assert (report.imported, report.updated) == ([], [2, 3])
    assert people(sessions) == {
        "a@example.org": ("Anna Rossi", "en", "confirmed"),
        "b@example.org": ("Bea", "it", "confirmed"),
    }
    with sessions() as session:
        rows = session.scalars(select(Subscription)).all()
        assert all(r.source == "import" and r.confirmed_at is not None for r in rows)


def test_sections_column_goes_into_attributes(sessions: Sessions, tmp_path: Path) -> None:
    run_import(sessions, write(tmp_path, "email;sezioni\na@example.org;Ambiente, Cultura\n"))
    run_import(sessions, write(tmp_path, "email;sezioni\na@example.org;trasporti\n"))
    with sessions() as session:
        assert session.scalars(select(Subscriber.attributes)).one() == {"sections": ["trasporti"]}


def test_many_rows_are_imported_in_chunks(sessions: Sessions, tmp_path: Path) -> None:
    lines = [f"reader{i}@example.org;Lettore {i}" for i in range(9000)]
    report = run_import(sessions, write(tmp_path, "email;nome\n" + "\n".join(lines)))
    assert (len(report.imported), report.imported[-1]) == (9000, 9001)
    report = run_import(sessions, write(tmp_path, "email;nome\n" + "\n".join(lines)))
    assert (report.imported, len(report.updated)) == ([], 9000)


def test_a_broken_line_deep_in_a_file_names_it_and_stores_nothing_of_the_file(
    sessions: Sessions, tmp_path: Path
) -> None:
    # Chunks before the broken line are stored by then: the transaction must undo them.
    run_import(sessions, write(tmp_path, "email;nome\nalready@example.org;Anna\n"))
    lines = [f"reader{i}@example.org;Lettore {i}" for i in range(9000)]
    # A stray quote opens a field that swallows the rest of the file, past csv's limit.
    broken = 'late@example.org;"Rossi\n' + "x" * 140_000 + "\n"
    path = write(tmp_path, "email;nome\n" + "\n".join(lines) + "\n" + broken)
    with pytest.raises(ImportFileError, match=r"people\.csv:9002: not valid CSV"):
        run_import(sessions, path)
    assert people(sessions) == {"already@example.org": ("Anna", "it", "pending")}
    with sessions() as session:
        assert session.scalar(select(func.count()).select_from(Subscriber)) == 1


def test_a_duplicate_in_a_later_chunk_fills_the_blanks_of_the_first(
    sessions: Sessions, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Chunks of two people: lines 2 and 3 are stored before lines 6 and 7 are read.
    monkeypatch.setattr(importer, "CHUNK", 2)
    run_import(sessions, write(tmp_path, "email;nome\nknown@example.org;Anna\n"), "eventi")
    text = (
        "email;nome;lingua\nnew@example.org;;\nKNOWN@example.org;;\n"
        "x@example.org;X;\ny@example.org;Y;\nNew@Example.org;Nina;en\n"
        "known@example.org;Anna Rossi;fr\n"
    )
    report = run_import(sessions, write(tmp_path, text))
    assert (report.imported, skipped(report)) == (
        [2, 3, 4, 5],
        [(6, "duplicate"), (7, "duplicate")],
    )
    assert {email: person[:2] for email, person in people(sessions).items()} == {
        "new@example.org": ("Nina", "en"), "known@example.org": ("Anna Rossi", "fr"),
        "x@example.org": ("X", "it"), "y@example.org": ("Y", "it"),
    }  # fmt: skip


# --- export ------------------------------------------------------------------------------------


def export_text(sessions: Sessions, slug: str = "cronache", **options: Any) -> str:
    out = io.StringIO(newline="")
    with sessions() as session:
        export_csv(session, slug, out, **options)
    return out.getvalue()


def test_export_round_trip(sessions: Sessions, tmp_path: Path) -> None:
    run_import(sessions, DATA / "cp1252_accents.csv", confirmed=True)
    run_import(sessions, write(tmp_path, "email;nome;lingua\nx@example.org;=1+1;en\n"))
    text = export_text(sessions)
    assert text.startswith("\ufeffemail;name;language;status;source;consented_at;confirmed_at\r\n")
    assert ";'=1+1;en;pending;import;" in text  # a formula is never live in Excel
    exported = tmp_path / "export.csv"
    exported.write_bytes(text.encode("utf-8"))
    report = run_import(sessions, exported, "eventi")
    assert (report.encoding, report.imported, report.skipped) == ("utf-8-sig", [2, 3, 4, 5], [])
    assert report.ignored_columns == ("status", "source", "consented_at", "confirmed_at")
    assert {e: p[:2] for e, p in people(sessions, "eventi").items()} == {
        e: p[:2] for e, p in people(sessions).items()
    }


def test_export_by_status_and_delimiter(sessions: Sessions, tmp_path: Path) -> None:
    run_import(sessions, write(tmp_path, "email\na@example.org\n"), confirmed=True)
    run_import(sessions, write(tmp_path, "email\nb@example.org\n"))
    text = export_text(sessions, status=SubscriptionStatus.CONFIRMED, delimiter=",")
    rows = text.lstrip("\ufeff").splitlines()
    assert rows[0] == "email,name,language,status,source,consented_at,confirmed_at"
    assert [row.split(",")[:4] for row in rows[1:]] == [["a@example.org", "", "it", "confirmed"]]


# --- the command line ----------------------------------------------------------------------------


def test_cli_import_partial_exits_0_and_prints_the_report(invoke: Callable[..., Any]) -> None:
    result = invoke("subscribers", "import", str(DATA / "utf8_bom_semicolon_italian.csv"),
                    "--list", "cronache", "--confirmed")  # fmt: skip
    assert result.exit_code == 0, result.output
    assert "encoding utf-8-sig, delimiter ';'" in result.stdout
    assert "imported 3, updated 0, skipped 3" in result.stdout
    assert "utf8_bom_semicolon_italian.csv:5: skipped: invalid address" in result.stderr
    again = invoke("subscribers", "import", str(DATA / "utf8_bom_semicolon_italian.csv"),
                   "--list", "cronache")  # fmt: skip
    assert "imported 0, updated 3, skipped 3" in again.stdout


@pytest.mark.parametrize("name", ["header_only.csv", "invalid_addresses.csv"])
def test_cli_import_with_no_valid_row_exits_1(
    invoke: Callable[..., Any], tmp_path: Path, name: str
) -> None:
    path = DATA / name
    if name == "invalid_addresses.csv":  # keep only the invalid lines
        path = tmp_path / name
        path.write_text("\n".join((DATA / name).read_text().splitlines()[:-1]) + "\n")
    result = invoke("subscribers", "import", str(path), "--list", "cronache")
    assert result.exit_code == 1
    assert "no valid row" in result.stderr


def test_cli_import_of_a_non_csv_file_fails_clearly(invoke: Callable[..., Any]) -> None:
    result = invoke("subscribers", "import", str(DATA / "garbage.bin"), "--list", "cronache")
    assert result.exit_code == 1
    assert "garbage.bin:1: binary data, not a CSV text file" in result.stderr


def test_cli_import_shows_progress_on_long_files(
    invoke: Callable[..., Any], tmp_path: Path
) -> None:
    path = write(tmp_path, "email\n" + "\n".join(f"r{i}@example.org" for i in range(6000)))
    result = invoke("subscribers", "import", str(path), "--list", "cronache")
    assert result.exit_code == 0
    assert "subscribing" in result.stderr
    assert "imported 6000" in result.stdout


def test_cli_export_to_a_file_and_to_stdout(invoke: Callable[..., Any], tmp_path: Path) -> None:
    invoke("subscribers", "import", str(DATA / "cp1252_accents.csv"), "--list", "cronache")
    out = tmp_path / "out.csv"
    result = invoke("subscribers", "export", "--list", "cronache", "--out", str(out))
    assert result.exit_code == 0
    assert "exported 3 people" in result.stderr
    data = out.read_bytes()
    assert data.startswith(codecs.BOM_UTF8) and "Nicolò Bianchi".encode() in data
    stdout = invoke("subscribers", "export", "--list", "cronache", "--delimiter", "comma",
                    "--status", "confirmed")  # fmt: skip
    assert stdout.stdout.splitlines() == [
        "\ufeffemail,name,language,status,source,consented_at,confirmed_at"
    ]
