"""How much memory a CSV import takes: peak RSS of ``dispatcher subscribers import``.

Generates a file of about the size asked (Italian Excel style, as in
``bench/import_speed.py``), creates a list in a fresh SQLite database, runs the
import command in a child process and prints the child's peak resident set size
against the file's size. The import streams: the peak should not grow with the file.

    .venv/bin/python bench/import_memory.py --mb 200
"""

from __future__ import annotations

import argparse
import os
import resource
import subprocess  # nosec B404 - runs this project's own command
import sys
import tempfile
import time
from pathlib import Path

from alembic import command
from sqlalchemy.orm import Session

from bench.import_speed import write_file
from dispatcher.db import create_db_engine
from dispatcher.migrate import alembic_config
from subscribers.service import create_list

ROW_BYTES = 45  # a generated line, on average


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--mb", type=int, default=200, help="size of the file, in MB")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        path, url = Path(tmp) / "people.csv", f"sqlite:///{tmp}/bench.sqlite"
        write_file(path, args.mb * 1_000_000 // ROW_BYTES)
        command.upgrade(alembic_config(url), "head")
        with Session(create_db_engine(url)) as session, session.begin():
            create_list(session, "bench", "Bench")
        env = {**os.environ, "DATABASE_URL": url, "SECRET_KEY": "bench-secret-key-" + "x" * 32}
        cli = [sys.executable, "-c", "from dispatcher.cli import main; main()"]
        started = time.perf_counter()
        done = subprocess.run(  # nosec B603 - fixed arguments
            [*cli, "subscribers", "import", str(path), "--list", "bench", "--confirmed"],
            env=env, capture_output=True, text=True, check=False,
        )  # fmt: skip
        seconds = time.perf_counter() - started
        peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss * 1024
        size = path.stat().st_size
        print(done.stdout.strip().splitlines()[-1:], done.returncode, done.stderr[-300:])
        print(
            f"file {size / 1e6:.0f} MB: peak RSS {peak / 1e6:.0f} MB"
            f" ({peak / size:.1f} x the file), {seconds:.0f} s"
        )


if __name__ == "__main__":
    main()
