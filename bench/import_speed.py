"""How fast a CSV import runs: reading and validating the file, then the database part.

Generates a file of N people (Italian Excel style: ``;``, cp1252, Italian headers),
imports it into an empty list of a fresh database, then imports it again (everyone
already on the list: the "updated" path), and prints rows per second for each part.

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

from dispatcher.db import create_db_engine, create_session_factory
from dispatcher.migrate import alembic_config
from subscribers.csvfile import read_csv
from subscribers.importer import collect_people, new_report, store_people
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
    started = time.perf_counter()
    source = read_csv(path)
    parsed = time.perf_counter()
    print(f"read + split {rows} rows: {parsed - started:.2f} s ({source.encoding})")
    for label in ("first import (all new)", "second import (all on the list)"):
        started = time.perf_counter()
        report = new_report(source)
        people = collect_people(source.records, report)
        validated = time.perf_counter()
        with sessions.begin() as session:
            store_people(session, people, "bench", report, keys=KEYS, confirmed=True)
        done = time.perf_counter()
        print(
            f"{label}: validate {validated - started:.2f} s, database {done - validated:.2f} s"
            f" = {rows / (done - validated):,.0f} rows/s; total {rows / (done - started):,.0f}"
            f" rows/s (imported {len(report.imported)}, updated {len(report.updated)})"
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
