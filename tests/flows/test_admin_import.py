"""Importing CSV files from the browser: the CLI's reading and rules, a job with progress, a report.

The office's dirty sample files (``tests/data/csv``) go through the admin and through
``dispatcher subscribers import`` into two lists: each line's outcome must be the same.
Against the run's PostgreSQL, and once on SQLite (the embedded default).
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Callable
from pathlib import Path

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from dispatcher.config import Settings
from dispatcher.models import ImportJob
from dispatcher.office import imports
from dispatcher.transport.memory import MemoryTransport
from subscribers.models import MailingList, Subscription
from tests.support.admin import Desk, LoggedIn, make_desk
from tests.support.data import add_import_lists

DATA = Path(__file__).parents[1] / "data" / "csv"
DIRTY = (
    "utf8_bom_semicolon_italian.csv",
    "cp1252_accents.csv",
    "duplicates.csv",
    "invalid_addresses.csv",
    "latin1_names.csv",
    "tabs_english.csv",
    "quoted_multiline.csv",
)


@pytest.fixture
def lists(desk: Desk) -> None:
    with desk.sessions.begin() as session:
        add_import_lists(session)


def upload(admin: LoggedIn, name: str, data: bytes, slug: str = "cronache", **form: str) -> int:
    """Upload a file; the new job's id (the answer must lead to its page)."""
    answer = admin.post(
        "/admin/import", {"list_slug": slug, **form}, files={"file": (name, data, "text/csv")}
    )
    assert answer.status_code == 303, answer.text[:2000]
    found = re.fullmatch(r"/admin/import/(\d+)", answer.headers["location"])
    assert found, answer.headers["location"]
    return int(found.group(1))


def run(admin: LoggedIn, job_id: int) -> str:
    """Confirm the import (it runs before the test client returns); the job's page."""
    assert admin.post(f"/admin/import/{job_id}/start").status_code == 303
    return str(admin.http.get(f"/admin/import/{job_id}", params={"lang": "it"}).text)


def job(desk: Desk, job_id: int) -> ImportJob:
    with desk.sessions() as session:
        return session.get_one(ImportJob, job_id)


def members(desk: Desk, slug: str) -> dict[str, int]:
    with desk.sessions() as session:
        rows = session.execute(
            select(Subscription.status, func.count())
            .join(MailingList, MailingList.id == Subscription.list_id)
            .where(MailingList.slug == slug)
            .group_by(Subscription.status)
        )
        return {status: count for status, count in rows}


@pytest.mark.usefixtures("lists")
@pytest.mark.parametrize("name", DIRTY)
def test_a_dirty_file_imports_as_the_cli_imports_it(desk: Desk, name: str) -> None:
    data = (DATA / name).read_bytes()
    with desk.client("admin") as admin:
        job_id = upload(admin, name, data)
        page = run(admin, job_id)
        report = admin.http.get(f"/admin/import/{job_id}/report.csv", params={"lang": "en"})
    done = job(desk, job_id)
    assert done.state == "done" and done.data is None  # the file is not kept
    cli = desk.run_cli("subscribers", "import", str(DATA / name), "--list", "eventi")
    assert f"imported {done.imported}, updated {done.updated}, skipped {done.skipped}" in (
        cli.output
    )
    cli_skipped = sorted(map(int, re.findall(r":(\d+): skipped:", cli.output)))
    web_skipped = sorted(r.line for r in imports.report_rows(done) if r.kind == "skipped")
    assert web_skipped == cli_skipped
    assert members(desk, "cronache") == members(desk, "eventi")
    assert f"{done.imported} importati" in page
    assert report.status_code == 200 and report.text.startswith("\ufeffLine;Outcome;Reason")
    lines = list(csv.reader(io.StringIO(report.text.lstrip("\ufeff")), delimiter=";"))[1:]
    assert sorted(int(row[0]) for row in lines if row[1] == "skipped") == cli_skipped


@pytest.mark.usefixtures("lists")
def test_the_page_says_how_the_file_was_read_before_anything_is_imported(desk: Desk) -> None:
    cases = {
        "utf8_bom_semicolon_italian.csv": ("UTF-8 con BOM", "punto e virgola (;)"),
        "cp1252_accents.csv": ("Windows-1252 (Excel)", "punto e virgola (;)"),
        "tabs_english.csv": ("UTF-8", "tabulazione"),
        "latin1_names.csv": ("Windows-1252 (Excel)", "virgola (,)"),
    }
    with desk.client("admin") as admin:
        for name, (encoding, delimiter) in cases.items():
            job_id = upload(admin, name, (DATA / name).read_bytes())
            page = admin.http.get(f"/admin/import/{job_id}", params={"lang": "it"}).text
            assert f'id="encoding">{encoding}<' in page, name
            assert f'id="delimiter">{delimiter}<' in page, name
            assert 'id="start"' in page
    page = admin_page(desk, "utf8_bom_semicolon_italian.csv")
    mapping = page.split('id="mapping"')[1].split("</table>")[0]
    assert "<td>Indirizzo E-mail</td><td>indirizzo email</td>" in mapping
    assert "<td>Cognome</td><td>cognome</td>" in mapping
    assert members(desk, "cronache") == {}  # nothing until the admin confirms


def admin_page(desk: Desk, name: str) -> str:
    with desk.client("admin") as admin:
        job_id = upload(admin, name, (DATA / name).read_bytes())
        return str(admin.http.get(f"/admin/import/{job_id}", params={"lang": "it"}).text)


@pytest.mark.usefixtures("lists")
def test_the_report_names_each_line_and_its_reason(desk: Desk) -> None:
    name = "utf8_bom_semicolon_italian.csv"
    with desk.client("admin") as admin:
        page = run(admin, upload(admin, name, (DATA / name).read_bytes(), confirmed="true"))
    report = page.split('id="report"')[1].split("</table>")[0]
    rows = re.findall(r"<tr><td>(\d+)</td><td>([^<]+)</td><td>([^<]+)</td>", report)
    assert ("5", "scartata", "indirizzo non valido") in rows
    assert ("6", "scartata", "indirizzo ripetuto") in rows
    assert ("7", "scartata", "indirizzo mancante") in rows
    assert ("8", "nota", "lingua") in rows
    assert members(desk, "cronache") == {"confirmed": 3}
    assert 'href="/admin/import/' in page and "report.csv" in page


@pytest.mark.usefixtures("lists")
def test_people_who_left_are_not_subscribed_again(desk: Desk) -> None:
    data = b"email;nome\nanna@example.org;Anna\nbruno@example.org;Bruno\n"
    with desk.client("admin") as admin:
        run(admin, upload(admin, "primo.csv", data, confirmed="true"))
        with desk.sessions.begin() as session:
            row = session.scalars(select(Subscription).order_by(Subscription.id)).first()
            assert row is not None
            row.status = "unsubscribed"
        page = run(admin, upload(admin, "secondo.csv", data, confirmed="true"))
    assert "si era disiscritto" in page
    assert members(desk, "cronache") == {"confirmed": 1, "unsubscribed": 1}


@pytest.mark.usefixtures("lists")
def test_a_stray_quote_refuses_the_whole_file(desk: Desk) -> None:
    lines = [f"persona{i}@example.org;Persona {i}" for i in range(9000)]
    lines[8500] = 'persona8500@example.org;"Persona 8500'
    data = ("email;nome\n" + "\n".join(lines) + "\n").encode()
    with desk.client("admin") as admin:
        job_id = upload(admin, "virgolette.csv", data)
        page = run(admin, job_id)
    assert job(desk, job_id).state == "failed"
    assert "nulla è cambiato" in page and "stray quote" in page
    assert members(desk, "cronache") == {}  # the chunks stored before it were rolled back


@pytest.mark.usefixtures("lists")
def test_files_that_cannot_be_read_are_refused_at_the_upload(desk: Desk) -> None:
    cases = {
        "no_email_column.csv": (DATA / "no_email_column.csv").read_bytes(),
        "garbage.bin": (DATA / "garbage.bin").read_bytes(),
        "vuoto.csv": b"",
        "foglio.xlsx": b"PK\x03\x04" + b"\x00" * 100,
    }
    with desk.client("admin") as admin:
        for name, data in cases.items():
            answer = admin.post(
                "/admin/import",
                {"list_slug": "cronache"},
                files={"file": (name, data, "text/csv")},
            )
            assert answer.status_code == 400, name
            assert 'role="alert"' in answer.text, name
        assert admin.post("/admin/import", {"list_slug": "cronache"}).status_code == 400
        unknown = admin.post(
            "/admin/import", {"list_slug": "nessuna"}, files={"file": ("a.csv", b"email\na@b.it")}
        )
        assert unknown.status_code == 400
        assert admin.post("/admin/import/999/start").status_code == 404
    with desk.sessions() as session:
        assert session.scalar(select(func.count(ImportJob.id))) == 0


@pytest.mark.usefixtures("lists")
def test_an_import_runs_once(desk: Desk) -> None:
    with desk.client("admin") as admin:
        job_id = upload(admin, "a.csv", b"email\nanna@example.org\n")
        run(admin, job_id)
        assert admin.post(f"/admin/import/{job_id}/start").status_code == 400
    assert job(desk, job_id).imported == 1


@pytest.mark.usefixtures("lists")
def test_only_an_admin_imports(desk: Desk) -> None:
    with desk.client("admin") as admin:
        job_id = upload(admin, "a.csv", b"email\nanna@example.org\n")
    for role in ("editor", "approver", "operator"):
        with desk.client(role) as user:
            for path in ("/admin/import", f"/admin/import/{job_id}", f"/admin/import/{job_id}/"
                         "report.csv", f"/admin/import/{job_id}/progress"):  # fmt: skip
                assert user.http.get(path).status_code == 403, (role, path)
            assert user.post(f"/admin/import/{job_id}/start").status_code == 403
    assert job(desk, job_id).state == "ready"


@pytest.mark.usefixtures("lists")
def test_progress_is_written_after_each_chunk_where_others_can_read_it(
    desk: Desk, monkeypatch: pytest.MonkeyPatch
) -> None:
    seen: list[int] = []
    original = imports._Progress.add

    def watched(self: imports._Progress, records: int) -> None:
        original(self, records)
        with desk.sessions() as other:  # another connection: the import has not committed
            seen.append(other.get_one(ImportJob, self.job_id).done)

    monkeypatch.setattr(imports._Progress, "add", watched)
    data = "email\n" + "".join(f"p{i}@example.org\n" for i in range(10_000))
    with desk.client("admin") as admin:
        job_id = upload(admin, "grande.csv", data.encode())
        poll = admin.http.get(f"/admin/import/{job_id}/progress").json()
        assert poll == {"state": "ready", "done": 0, "total": 10_000}
        run(admin, job_id)
        assert admin.http.get(f"/admin/import/{job_id}/progress").json()["state"] == "done"
    assert seen == [4000, 8000, 10_000]
    assert members(desk, "cronache") == {"pending": 10_000}


def test_the_import_works_on_the_embedded_defaults(
    make_settings: Callable[..., Settings],
    sqlite_url: str,
    sqlite_sessions: sessionmaker[Session],
    memory: MemoryTransport,
) -> None:
    with sqlite_sessions.begin() as session:
        add_import_lists(session)
    desk = make_desk(make_settings(database_url=sqlite_url), sqlite_sessions, memory)
    name = "cp1252_accents.csv"
    with desk.client("admin") as admin:
        page = run(admin, upload(admin, name, (DATA / name).read_bytes()))
    assert "Windows-1252 (Excel)" in page and "importati" in page
    assert members(desk, "cronache").get("pending", 0) >= 2


@pytest.mark.usefixtures("lists")
def test_an_upload_not_imported_keeps_no_file(desk: Desk) -> None:
    with desk.client("admin") as admin:
        cancelled = upload(admin, "a.csv", b"email\nanna@example.org\n")
        assert admin.post(f"/admin/import/{cancelled}/cancel").status_code == 303
        assert admin.post(f"/admin/import/{cancelled}/start").status_code == 400
        forgotten = upload(admin, "b.csv", b"email\nbruno@example.org\n")
        with desk.sessions.begin() as session:
            old = session.get_one(ImportJob, forgotten)
            old.created_at = old.created_at - imports.UNCONFIRMED_KEPT * 2
        kept = upload(admin, "c.csv", b"email\ncarla@example.org\n")  # sweeps the old ones
    assert job(desk, cancelled).state == "failed" and job(desk, cancelled).data is None
    assert job(desk, forgotten).state == "failed" and job(desk, forgotten).data is None
    assert job(desk, kept).state == "ready" and job(desk, kept).data
    assert members(desk, "cronache") == {}
