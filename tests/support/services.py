"""Private Redis and PostgreSQL instances on free ports, for tests that stop them.

The machine's shared services are never stopped: crash tests start their own
servers here, stop and restart them at will, and remove them afterwards.
"""

from __future__ import annotations

import shutil
import subprocess
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from redis import Redis

from tests.support.web import free_port

PG_BIN = (
    Path("/usr/lib/postgresql")
    / (
        sorted(p.name for p in Path("/usr/lib/postgresql").iterdir())[-1]
        if Path("/usr/lib/postgresql").exists()
        else "15"
    )
    / "bin"
)


class PrivateRedis:
    """``redis-server`` on a free port, keeping nothing on disk (like the machine's)."""

    def __init__(self) -> None:
        self.port = free_port()
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        self.process = subprocess.Popen(
            ["redis-server", "--port", str(self.port), "--bind", "127.0.0.1", "--save", "",
             "--appendonly", "no", "--daemonize", "no"],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )  # fmt: skip
        _wait(lambda: Redis.from_url(self.url).ping())

    def stop(self) -> None:
        if self.process is not None:
            self.process.kill()  # like a crash: whatever was queued is gone
            self.process.wait()
            self.process = None


class PrivatePostgres:
    """A PostgreSQL cluster of its own (initdb as the postgres user), restartable."""

    def __init__(self) -> None:
        self.port = free_port()
        self.root = Path(tempfile.mkdtemp(prefix="pg-test-"))
        shutil.chown(self.root, "postgres")

    @property
    def url(self) -> str:
        return f"postgresql+psycopg://postgres@127.0.0.1:{self.port}/postgres"

    def init(self) -> None:
        self._as_postgres("initdb", "-D", str(self.root / "data"), "-A", "trust", "-U", "postgres")

    def start(self) -> None:
        options = f"-p {self.port} -c listen_addresses=127.0.0.1 -k {self.root} -c fsync=off"
        self._as_postgres("pg_ctl", "-D", str(self.root / "data"), "-o", options,
                          "-l", str(self.root / "log"), "-w", "start")  # fmt: skip

    def stop(self, mode: str = "fast") -> None:
        self._as_postgres("pg_ctl", "-D", str(self.root / "data"), "-m", mode, "-w", "stop")

    def remove(self) -> None:
        subprocess.run(
            ["runuser", "-u", "postgres", "--", str(PG_BIN / "pg_ctl"), "-D",
             str(self.root / "data"), "-m", "immediate", "-w", "stop"],
            capture_output=True, check=False,
        )  # fmt: skip
        shutil.rmtree(self.root, ignore_errors=True)

    def _as_postgres(self, program: str, *args: str) -> None:
        # PostgreSQL refuses to run as root.
        subprocess.run(
            ["runuser", "-u", "postgres", "--", str(PG_BIN / program), *args],
            capture_output=True, check=True,
        )  # fmt: skip


@contextmanager
def private_redis() -> Iterator[PrivateRedis]:
    server = PrivateRedis()
    server.start()
    try:
        yield server
    finally:
        server.stop()


@contextmanager
def private_postgres() -> Iterator[PrivatePostgres]:
    server = PrivatePostgres()
    server.init()
    server.start()
    try:
        yield server
    finally:
        server.remove()


def _wait(check: object, timeout: float = 15) -> None:
    deadline = time.monotonic() + timeout
    while True:
        try:
            if callable(check) and check():
                return
        except Exception:  # noqa: BLE001 - not up yet
            if time.monotonic() > deadline:
                raise
        time.sleep(0.05)
