"""Real Celery worker processes for tests (prefork pool unless asked, embedded beat), killable."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Mapping
from pathlib import Path
from typing import IO

from dispatcher.config import Settings

REPO = Path(__file__).resolve().parents[2]


def settings_env(settings: Settings) -> dict[str, str]:
    """The environment variables that make ``Settings.from_env()`` give ``settings``."""
    sending, smtp = settings.sending, settings.smtp
    env = {
        "DATABASE_URL": settings.database_url,
        "BROKER_URL": settings.broker_url,
        "BROKER_KEY_PREFIX": settings.broker_key_prefix,
        "PUBLIC_URL": settings.public_url,
        "SECRET_KEY": settings.secret_keys[0],
        "SMTP_URL": smtp.url or "",
        "SMTP_CONNECT_TIMEOUT": str(smtp.connect_timeout),
        "SMTP_COMMAND_TIMEOUT": str(smtp.command_timeout),
        "SMTP_DATA_TIMEOUT": str(smtp.data_timeout),
        "SMTP_FINAL_TIMEOUT": str(smtp.final_timeout),
        "SMTP_PIPELINING": "1" if smtp.pipelining else "0",
        "SEND_BATCH_SIZE": str(sending.batch_size),
        "SEND_WINDOW": str(sending.dispatch_window),
        "SEND_LEASE": str(sending.lease_seconds),
        "SEND_REDISPATCH_AFTER": str(sending.redispatch_after),
        "RECONCILE_INTERVAL": str(sending.reconcile_interval),
        "RETRY_BASE": str(sending.retry_base),
        "RETRY_MAX_INTERVAL": str(sending.retry_max_interval),
        "RETRY_WINDOW": str(sending.retry_window),
        "RELAY_BACKOFF_BASE": str(sending.relay_backoff_base),
        "RELAY_BACKOFF_MAX": str(sending.relay_backoff_max),
        "UNCERTAIN_POLICY": sending.uncertain_policy,
        "SEND_JOURNAL_DIR": sending.journal_dir,
        "DKIM_DOMAIN": settings.dkim.domain or "",
        "DKIM_SELECTOR": settings.dkim.selector or "",
        "DKIM_KEY_FILE": settings.dkim.key_file or "",
        "SENDING_HOURS": settings.sending_hours or "00:00-24:00",
        "NATIONAL_HOLIDAYS": "1" if settings.national_holidays else "0",
        "LOCAL_HOLIDAYS": settings.local_holidays,
    }
    return env


class WorkerProcess:
    """``celery -A worker worker`` in a subprocess, with the beat embedded (``-B``) if asked."""

    def __init__(
        self,
        settings: Settings,
        workdir: Path,
        *,
        concurrency: int = 2,
        pool: str = "prefork",
        beat: bool = True,
        name: str = "w1",
        extra_env: Mapping[str, str] | None = None,
    ) -> None:
        self.log_path = workdir / f"worker-{name}.log"
        self._args = [
            sys.executable, "-m", "celery", "-A", "worker", "worker",
            "--pool", pool, "-c", str(concurrency), "-n", f"{name}@%h",
            "--without-gossip", "--without-mingle", "-l", "INFO",
        ]  # fmt: skip
        if beat:
            self._args += ["-B", "-s", str(workdir / f"beat-{name}")]
        self._env = {**os.environ, **settings_env(settings), **(extra_env or {})}
        self.process: subprocess.Popen[bytes] | None = None
        self._log: IO[bytes] | None = None

    def start(self, timeout: float = 60) -> WorkerProcess:
        self._log = self.log_path.open("ab")
        self.process = subprocess.Popen(
            self._args, cwd=REPO, env=self._env, stdout=self._log, stderr=subprocess.STDOUT
        )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if b"ready." in self.log_path.read_bytes():
                return self
            if self.process.poll() is not None:
                raise RuntimeError(f"worker exited: {self.log()}")
            time.sleep(0.1)
        raise RuntimeError(f"worker not ready after {timeout}s: {self.log()}")

    def children(self) -> list[int]:
        """The pool's child processes (the ones that run tasks)."""
        assert self.process is not None
        path = Path(f"/proc/{self.process.pid}/task/{self.process.pid}/children")
        return [int(pid) for pid in path.read_text().split()]

    def kill(self, pid: int) -> None:
        """SIGKILL one of this worker's processes, as the OOM killer would."""
        if pid not in self.children():
            raise ValueError(f"{pid} is not a child of this worker")
        os.kill(pid, signal.SIGKILL)

    def stop(self, timeout: float = 20) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        if self._log is not None:
            self._log.close()
            self._log = None

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")[-4000:]

    def __enter__(self) -> WorkerProcess:
        return self.start()

    def __exit__(self, *_: object) -> None:
        self.stop()
