"""Scale figures at a million ledger rows: writing the ledger, and the status queries.

Creates N subscribers (default 1,000,000) with one INSERT ... SELECT, then times
``start_send``, which writes the whole ledger and its batches in two set-based
statements (target: under 20 s for 1,000,000). Then it settles 60% of the rows
(sent, some failed) as if the send were under way, and times what operators look
at, each the median of 20 calls (target: under 100 ms at 1,000,000 rows):

- the status of the send (``dispatcher status``: counts, rate, ETA, failures);
- the console's JSON, overview and send page, through the real web app (login,
  Redis figures included).

    .venv/bin/python bench/scale.py               # 1,000,000
    .venv/bin/python bench/scale.py -n 100000
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path

from sqlalchemy import text

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from bench.throughput import bench_settings, create_readers, database  # noqa: E402
from dispatcher.config import Settings  # noqa: E402
from dispatcher.db import create_db_engine, create_session_factory  # noqa: E402
from dispatcher.sends import ledger, progress  # noqa: E402
from dispatcher.sends import status as send_status  # noqa: E402
from dispatcher.transport.memory import MemoryTransport  # noqa: E402
from subscribers.orm import utcnow  # noqa: E402
from tests.support.admin import make_desk  # noqa: E402
from tests.support.data import add_example_edition, create_newsletter  # noqa: E402

# 60% of the rows settled: most sent, one in a hundred refused, as mid-send.
_SETTLE = """
UPDATE deliveries SET status = CASE WHEN id % 100 = 0 THEN 'failed' ELSE 'sent' END,
       smtp_code = CASE WHEN id % 100 = 0 THEN 550 ELSE 250 END,
       smtp_reply = CASE WHEN id % 100 = 0 THEN '5.1.1 <x' || id || '@example.net>: unknown'
                    ELSE '2.0.0 Ok: queued' END,
       attempts = 1, last_attempt_at = now()
WHERE send_id = :send_id AND id % 10 < 6
"""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("-n", type=int, default=1_000_000)
    n = parser.parse_args().n
    with database() as url:
        settings = bench_settings(url)
        sessions = create_session_factory(create_db_engine(url))
        send_id = _ledger(sessions, settings, n)
        _settle(sessions, send_id)
        _queries(sessions, settings, send_id, n)


def _ledger(sessions, settings: Settings, n: int) -> int:  # type: ignore[no-untyped-def]
    began = time.perf_counter()
    with sessions.begin() as session:
        newsletter = create_newsletter(session)
        create_readers(session, newsletter.id, n)
        edition_id = add_example_edition(session, settings)
    with sessions.begin() as session:
        session.execute(text("ANALYZE"))
    with sessions.begin() as session:
        # The setup wrote two million rows: flush them now, so that the ledger's time is
        # its own and not that of a checkpoint of the setup's pages (a real list is old).
        session.execute(text("CHECKPOINT"))
    print(f"{n:,} subscribers created in {time.perf_counter() - began:.1f} s")
    with sessions.begin() as session:
        send_id = ledger.create_send(session, edition_id, ["cronache"], utcnow()).id
    began = time.perf_counter()
    with sessions.begin() as session:
        rows = ledger.start_send(session, send_id, utcnow(), settings.sending.batch_size)
    print(f"ledger of {rows:,} rows and its batches written in {time.perf_counter() - began:.2f} s")
    return send_id


def _settle(sessions, send_id: int) -> None:  # type: ignore[no-untyped-def]
    with sessions.begin() as session:
        session.execute(text(_SETTLE), {"send_id": send_id})
        for batch_id in ledger.batch_ids_of(session, send_id):
            progress.refresh_batch(session, batch_id)
    with sessions.begin() as session:
        session.execute(text("ANALYZE deliveries"))


def _queries(sessions, settings: Settings, send_id: int, n: int) -> None:  # type: ignore[no-untyped-def]
    def status() -> None:
        with sessions() as session:
            send_status.send_view(session, send_id, utcnow())

    desk = make_desk(settings, sessions, MemoryTransport())
    with desk.client("operator") as operator:

        def get(path: str) -> Callable[[], None]:
            def call() -> None:
                assert operator.http.get(path).status_code == 200

            return call

        for name, call in [
            ("dispatcher status (send_status)", status),
            ("console overview JSON", get("/console/figures.json")),
            ("console send JSON", get(f"/console/sends/{send_id}/figures.json")),
            ("console overview page", get("/console")),
            ("console send page", get(f"/console/sends/{send_id}")),
        ]:
            print(f"{name}: median {_median_ms(call):.1f} ms at {n:,} ledger rows")


def _median_ms(call: Callable[[], None], runs: int = 20) -> float:
    call()  # warm caches and prepared plans
    times = []
    for _ in range(runs):
        began = time.perf_counter()
        call()
        times.append((time.perf_counter() - began) * 1000)
    return statistics.median(times)


if __name__ == "__main__":
    main()
