"""End-to-end sending rate through Celery + Redis + PostgreSQL, against smtp-sink.

Dispatches N recipients (default 20,000) through the real path (ledger written
with INSERT ... SELECT, batch tasks on a Redis broker, a Celery worker with one
SMTP connection per pool process, every outcome recorded in PostgreSQL) to
Postfix's smtp-sink, then measures this machine's SMTP limit with
``../shared/tools/smtp-limit`` (Postfix's smtp-source against smtp-sink) at the
same message size and number of connections, in the same run, and prints both
rates and their ratio.

    .venv/bin/python bench/throughput.py                      # 20,000, 2 connections
    .venv/bin/python bench/throughput.py -n 100000 --runs 3   # the issue's figure
    .venv/bin/python bench/throughput.py --no-pipelining      # one command at a time
    .venv/bin/python bench/throughput.py --sections            # four section variants

``--sections`` runs two sends in each run, of an edition whose article is there four
times, once in each of four sections: one whose readers all chose the same section
(one variant), one whose readers are spread evenly over the four sections (four
variants, each compiled once and built once per worker process). Every message holds
one article either way, so the two sends differ only in their number of variants; each
is compared with its own smtp-limit, and the gap between the two ratios is printed.

Not part of ``make test``: these machines are shared and noisy, so figures are
quoted as ratios to smtp-limit measured in the same run (see BENCHMARKS.md).
"""

from __future__ import annotations

import argparse
import re
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ed25519, rsa
from sqlalchemy import func, select, text
from sqlalchemy.orm import Session

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))  # the tests' helpers (data, worker) are reused here

from bench import cpu  # noqa: E402
from dispatcher.config import DkimSettings, SendingSettings, Settings, SmtpSettings  # noqa: E402
from dispatcher.db import create_db_engine, create_session_factory  # noqa: E402
from dispatcher.models import Delivery, Send  # noqa: E402
from dispatcher.office.edition_store import add_edition  # noqa: E402
from dispatcher.sends import ledger, reconcile  # noqa: E402
from dispatcher.worker.app import create_celery  # noqa: E402
from dispatcher.worker.tasks import enqueue_batch  # noqa: E402
from subscribers.orm import utcnow  # noqa: E402
from tests.support.data import EDITION_FILE, add_example_edition, create_newsletter  # noqa: E402
from tests.support.database import scratch_database  # noqa: E402
from tests.support.web import free_port  # noqa: E402
from tests.support.worker import WorkerProcess  # noqa: E402

_READERS = """
INSERT INTO subscribers (email, name, language, attributes, created_at)
SELECT 'reader' || g || '@example.net', 'Lettore ' || g, 'it',
       (CASE WHEN :spread = 0 THEN '{}'
             WHEN g % :spread = 1 THEN '{"sections": ["cultura"]}'
             WHEN g % :spread = 2 THEN '{"sections": ["istruzione"]}'
             WHEN g % :spread = 3 THEN '{"sections": ["lavoro"]}'
             ELSE '{"sections": ["ambiente"]}' END)::json,
       now()
FROM generate_series(1, :n) g
"""
_SUBSCRIPTIONS = """
INSERT INTO subscriptions (list_id, subscriber_id, status, source, consented_at, updated_at,
                           soft_bounces)
SELECT :list_id, id, 'confirmed', 'import', now(), now(), 0 FROM subscribers
"""

SMTP_LIMIT = REPO.parent / "shared" / "tools" / "smtp-limit"
PG_ADMIN = "postgresql+psycopg://postgres@127.0.0.1:5432/test"


def main() -> None:
    args = _arguments()
    if args.sections:
        compare_variants(args)
        return
    rates, limits = [], []
    for run in range(1, args.runs + 1):
        rate, size, seconds_ledger = dispatch_once(args)
        before = cpu.snapshot()
        limit = smtp_limit(args.n, args.connections, size)
        print(cpu.report(before, cpu.snapshot(), (), args.n, "smtp-limit "), flush=True)
        rates.append(rate)
        limits.append(limit)
        print(
            f"run {run}: dispatcher {rate:,.0f} msg/s, smtp-limit {limit:,.0f} msg/s, "
            f"ratio {rate / limit:.2f} (n={args.n:,}, connections={args.connections}, "
            f"message {size:,} bytes, pipelining {'on' if args.pipelining else 'off'}, "
            f"DKIM {args.dkim or 'off'}, "
            f"ledger written in {seconds_ledger:.2f} s)",
            flush=True,
        )
    ratios = [r / lim for r, lim in zip(rates, limits, strict=True)]
    print(
        f"median: dispatcher {statistics.median(rates):,.0f} msg/s, "
        f"smtp-limit {statistics.median(limits):,.0f} msg/s, "
        f"ratio {statistics.median(ratios):.2f} over {args.runs} run(s)"
    )


def _arguments() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("-n", type=int, default=20_000, help="recipients (default 20,000)")
    parser.add_argument(
        "--connections", type=int, default=2, help="worker processes = SMTP connections"
    )
    parser.add_argument("--runs", type=int, default=1, help="repeat and print the median")
    parser.add_argument("--batch-size", type=int, default=500)
    parser.add_argument("--window", type=int, default=8, help="batches in the broker per send")
    parser.add_argument("--no-pipelining", dest="pipelining", action="store_false")
    parser.add_argument(
        "--dkim", choices=("rsa", "ed25519"), help="sign every message (RSA-2048 or Ed25519)"
    )
    parser.add_argument(
        "--sections",
        action="store_true",
        help="compare a send of four section variants with a single-variant send",
    )
    return parser.parse_args()


def compare_variants(args: argparse.Namespace) -> None:
    """Each run: a single-variant send, then a four-variant one; ratios and their gap."""
    gaps = []
    for run in range(1, args.runs + 1):
        ratios = {}
        for variants in (1, 4):
            rate, size, _ = dispatch_once(args, variants)
            limit = smtp_limit(args.n, args.connections, size)
            ratios[variants] = rate / limit
            print(
                f"run {run}, {variants} variant(s): dispatcher {rate:,.0f} msg/s, "
                f"smtp-limit {limit:,.0f} msg/s at {size:,} bytes, ratio {rate / limit:.2f}",
                flush=True,
            )
        gap = ratios[4] / ratios[1] - 1
        gaps.append(gap)
        print(f"run {run}: four variants' ratio is {gap:+.1%} of the single variant's", flush=True)
    print(f"median gap {statistics.median(gaps):+.1%} over {args.runs} run(s) (n={args.n:,})")


def dispatch_once(args: argparse.Namespace, variants: int = 0) -> tuple[float, int, float]:
    """One send of ``args.n`` messages to a fresh smtp-sink; returns (rate, size, ledger s).

    :param variants: 0: the example edition; 1 or 4: the edition with sections, its
        readers in that many variants (the size is then the mean message's)
    """
    with tempfile.TemporaryDirectory() as tmp, database() as url, smtp_sink() as port:
        settings = bench_settings(
            url,
            smtp=SmtpSettings(url=f"smtp://127.0.0.1:{port}", pipelining=args.pipelining),
            sending=SendingSettings(batch_size=args.batch_size, dispatch_window=args.window),
            dkim=_dkim_settings(args.dkim, Path(tmp)),
        )
        sessions = create_session_factory(create_db_engine(url))
        with sessions.begin() as session:
            newsletter = create_newsletter(session)
            create_readers(session, newsletter.id, args.n, variants)
            if variants:
                text = sectioned_edition()
                edition_id = add_edition(session, text, "sections.md", settings).id
            else:
                edition_id = add_example_edition(session, settings)
        create_celery(settings)
        with WorkerProcess(settings, Path(tmp), concurrency=args.connections) as worker:
            started, ledger_seconds = _start(sessions, edition_id, settings)
            before = cpu.snapshot()
            _wait(sessions, worker, timeout=max(600, args.n / 50))
            usage = cpu.report(before, cpu.snapshot(), worker.children(), args.n, "dispatcher ")
            last = _last_outcome(sessions)
            peak = max(_peak_rss_mb(pid) for pid in worker.children())
        print(usage, flush=True)
        print(f"  worker peak RSS {peak:.1f} MB (the largest pool process)", flush=True)
        return args.n / (last - started), _message_size(sessions), ledger_seconds


_SECTIONS = ("ambiente", "cultura", "istruzione", "lavoro")


def sectioned_edition() -> str:
    """The example edition with its article four times, once in each of four sections."""
    text = EDITION_FILE.read_text(encoding="utf-8")
    start = text.index("\n## ") + 1
    head, article = text[:start], text[start:]
    title, _, rest = article.partition("\n")
    copies = [f"{title} ({section})\nsezione: {section}\n{rest}" for section in _SECTIONS]
    return head + "\n".join(copies)


def _dkim_settings(kind: str | None, folder: Path) -> DkimSettings:
    if kind is None:
        return DkimSettings()
    key = (
        rsa.generate_private_key(public_exponent=65537, key_size=2048)
        if kind == "rsa"
        else ed25519.Ed25519PrivateKey.generate()
    )
    pem = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    (folder / "dkim.pem").write_bytes(pem)
    return DkimSettings("example.org", "bench", str(folder / "dkim.pem"))


def _start(sessions, edition_id: int, settings: Settings) -> tuple[float, float]:  # type: ignore[no-untyped-def]
    with sessions.begin() as session:
        send_id = ledger.create_send(session, edition_id, ["cronache"], utcnow()).id
    began = time.time()
    with sessions.begin() as session:
        ledger.start_send(session, send_id, utcnow(), settings.sending.batch_size)
    ledger_seconds = time.time() - began
    started = time.time()
    with sessions.begin() as session:
        batch_ids = reconcile.take_pending(
            session, send_id, settings.sending.dispatch_window, utcnow()
        )
    for batch_id in batch_ids:
        enqueue_batch(batch_id)
    return started, ledger_seconds


def _wait(sessions, worker: WorkerProcess, timeout: float) -> None:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with sessions() as session:
            state = session.scalar(select(Send.state))
        if state == "finished":
            return
        time.sleep(0.25)
    raise RuntimeError(f"send not finished after {timeout:.0f} s:\n{worker.log()}")


def _last_outcome(sessions) -> float:  # type: ignore[no-untyped-def]
    with sessions() as session:
        statuses = dict(
            session.execute(select(Delivery.status, func.count()).group_by(Delivery.status)).all()
        )
        last = session.scalar(select(func.max(Delivery.last_attempt_at)))
    if set(statuses) != {"sent"}:
        raise RuntimeError(f"not every message was sent: {statuses}")
    assert last is not None
    return last.timestamp()


def _peak_rss_mb(pid: int) -> float:
    """A process's peak resident set (VmHWM), in MB."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return 0.0


def _message_size(sessions) -> int:  # type: ignore[no-untyped-def]
    """The size of one filled message as the relay receives it (the mean over variants)."""
    from dispatcher.models import Edition, EditionVariant
    from dispatcher.sends.compose import preview
    from dispatcher.sends.variants import Compiled
    from subscribers.tokens import Signer

    with sessions() as session:
        edition = session.scalars(select(Edition)).one()
        settings = Settings(public_url="https://newsletter.example.org", secret_keys=("x",))
        signer = Signer(["x"])
        counts = session.execute(
            select(Delivery.variant, func.count()).group_by(Delivery.variant)
        ).all()
        rows = {row.key: row for row in session.scalars(select(EditionVariant))}
        total = 0
        for key, count in counts:
            row = rows.get(key) if key else None
            variant = (
                Compiled(key, row.subject, row.html, row.text, row.compiled_hash) if row else None
            )
            total += count * len(preview(session, edition, settings, signer, variant).eml)
        return round(total / sum(count for _, count in counts))


def create_readers(session: Session, list_id: int, count: int, variants: int = 0) -> None:
    """``count`` confirmed subscribers on a list, written by the database itself.

    :param variants: 0: no sections chosen; 1: all chose ambiente; 4: spread evenly over
        ambiente, cultura, istruzione and lavoro
    """
    session.execute(text(_READERS), {"n": count, "spread": variants})
    session.execute(text(_SUBSCRIPTIONS), {"list_id": list_id})


def database() -> AbstractContextManager[str]:
    """A migrated PostgreSQL database of the benchmark's own, dropped afterwards."""
    return scratch_database(PG_ADMIN, f"bench_{uuid.uuid4().hex[:10]}")


def bench_settings(url: str, **fields: Any) -> Settings:
    """The benchmarks' settings on database ``url``: own Redis key prefix, example addresses."""
    return Settings(
        database_url=url,
        broker_url="redis://127.0.0.1:6379/0",
        broker_key_prefix=f"bench-{uuid.uuid4().hex[:8]}:",
        public_url="https://newsletter.example.org",
        secret_keys=("bench-secret-key-long-enough-to-sign-links",),
        **fields,
    )


@contextmanager
def smtp_sink() -> Iterator[int]:
    """Postfix's smtp-sink on a free port (it advertises PIPELINING)."""
    port = free_port()
    sink = subprocess.Popen(
        ["/usr/sbin/smtp-sink", "-u", "root", f"127.0.0.1:{port}", "1000"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    time.sleep(0.3)
    try:
        yield port
    finally:
        sink.terminate()
        sink.wait()


def smtp_limit(messages: int, connections: int, size: int) -> float:
    """This machine's SMTP limit now, at the same size and number of connections."""
    port = free_port()
    output = subprocess.run(
        [
            str(SMTP_LIMIT),
            "-n",
            str(messages),
            "-s",
            str(connections),
            "-l",
            str(size),
            "-p",
            str(port),
        ],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    found = re.search(r"rate=([\d.]+)/s", output)
    if found is None:
        raise RuntimeError(f"smtp-limit printed {output!r}")
    return float(found.group(1))


if __name__ == "__main__":
    main()
