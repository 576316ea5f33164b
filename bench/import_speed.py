"""How fast a CSV import runs, end to end: reading, validating and storing the file.

Generates a file of N people (Italian Excel style: ``;``, cp1252, Italian headers),
imports it into an empty list of a fresh database, then imports it again (everyone
already on the list: the "updated" path), and prints rows per second end to end.
Validation runs in a thread alongside the database statements, so the parts overlap:
each is also timed alone (reading, validating, and the database with the people
validated beforehand) to show which one bounds the total.

    .venv/bin/python bench/import_speed.py                       # SQLite in a temp folder
    .venv/bin/python bench/import_speed.py --pg postgresql+psycopg://postgres@127.0.0.1/postgres

With ``--pg``, a throwaway database is created next to the one named and dropped after.
"""

from __future__ import annotations

import argparse
import random
import tempfile
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from alembic import command
from sqlalchemy import create_engine, text
from sqlalchemy.orm import Session, sessionmaker

from dispatcher.db import create_db_engine, create_session_factory
from dispatcher.migrate import alembic_config
from subscribers.csvfile import read_csv
from subscribers.importer import collect_people, import_csv, new_report, store_people
from subscribers.service import create_list

NAMES = ["Nicolò", "Zoë", "Giulia", "Marco", "Chiara", "Luca", "Francesca", "Andrea", "Elena"]
SURNAMES = ["Bianchi", "D'Andrea", "Rossi", "Ferrero", "Bruno", "Gallo", "Conti", "Costa"]
KEYS = ("bench-secret-key",)


def write_file(path: Path, rows: int) -> None:
    pick = random.Random(1).choice
    lines = ["Nome;Cognome;E-mail;Lingua"]
    lines += [
        f"{pick(NAMES)};{pick(SURNAMES)};Lettore.{i:07d}@{pick(['example.org', 'EXAMPLE.net'])};it"
        for i in range(rows)
    ]
    path.write_bytes(("\r\n".join(lines) + "\r\n").encode("cp1252"))


@contextmanager
def database(pg_admin_url: str | None, workdir: Path) -> Iterator[str]:
    if pg_admin_url is None:
        yield f"sqlite:///{workdir}/bench.sqlite"
        return
    name = f"bench_import_{uuid.uuid4().hex[:8]}"
    admin = create_engine(pg_admin_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        yield pg_admin_url.rsplit("/", 1)[0] + f"/{name}"
    finally:
        with admin.connect() as connection:
            connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def run(url: str, path: Path, rows: int) -> None:
    command.upgrade(alembic_config(url), "head")
    sessions = create_session_factory(create_db_engine(url))
    with sessions.begin() as session:
        create_list(session, "bench", "Bench")
    for label in ("first import (all new)", "second import (all on the list)"):
        parts_alone(sessions, path, rows)
        started = time.perf_counter()
        with sessions.begin() as session:
            report = import_csv(session, path, "bench", keys=KEYS, confirmed=True)
        done = time.perf_counter()
        print(
            f"{label}: {rows / (done - started):,.0f} rows/s end to end ({done - started:.2f} s;"
            f" imported {len(report.imported)}, updated {len(report.updated)})"
        )


def parts_alone(sessions: sessionmaker[Session], path: Path, rows: int) -> None:
    """Each part timed on its own, the import rolled back: the total cannot beat the slowest."""
    started = time.perf_counter()
    source = read_csv(path)
    parsed = time.perf_counter()
    report = new_report(source)
    people = collect_people(source.records, report)
    validated = time.perf_counter()
    with sessions() as session:
        store_people(session, people, "bench", report, keys=KEYS, confirmed=True)
        stored = time.perf_counter()
        session.rollback()
    print(
        f"  parts alone: read {parsed - started:.2f} s,"
        f" validate {validated - parsed:.2f} s, database {stored - validated:.2f} s"
        f" = {rows / (stored - validated):,.0f} rows/s"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--pg", metavar="ADMIN_URL", help="PostgreSQL URL to create a db next to")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "people.csv"
        write_file(path, args.rows)
        with database(args.pg, Path(tmp)) as url:
            print(f"database: {url.split('@')[-1]}")
            run(url, path, args.rows)


if __name__ == "__main__":
    main()
