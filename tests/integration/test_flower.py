"""Flower beside the dispatcher: it sees the workers and the batch tasks they run.

Operators may keep Flower open next to the console; it only works if the workers
send task events and if Flower reads the same broker, key prefix included. Flower
is started as the README says (``celery -A worker flower``), with the same
environment as the worker.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy.orm import Session, sessionmaker

from dispatcher.config import SendingSettings, Settings
from dispatcher.worker.tasks import DELIVER_BATCH, enqueue_batch
from tests.smtpd import SmtpServer
from tests.support.sending import assert_finished, start_example_send
from tests.support.web import free_port
from tests.support.worker import REPO, WorkerProcess, settings_env

pytestmark = pytest.mark.integration

QUICK = SendingSettings(batch_size=10, dispatch_window=4, reconcile_interval=1)


@pytest.fixture
def settings(enqueuing_settings: Callable[..., Settings]) -> Iterator[Settings]:
    with SmtpServer(pipelining=True) as smtpd:
        yield enqueuing_settings(smtp_url=smtpd.url, sending=QUICK)


@pytest.fixture
def flower(settings: Settings, tmp_path: Path) -> Iterator[str]:
    port = free_port()
    env = {**os.environ, **settings_env(settings), "FLOWER_UNAUTHENTICATED_API": "true"}
    command = [sys.executable, "-m", "celery", "-A", "worker", "flower"]
    command += ["--address=127.0.0.1", f"--port={port}"]
    with (tmp_path / "flower.log").open("wb") as log:
        process = subprocess.Popen(command, cwd=REPO, env=env, stdout=log, stderr=subprocess.STDOUT)
        url = f"http://127.0.0.1:{port}"
        try:
            _wait_for(lambda: _get(f"{url}/healthcheck") == "OK", 30, tmp_path / "flower.log")
            yield url
        finally:
            process.terminate()
            process.wait(10)


def test_flower_lists_the_worker_and_the_batches_it_ran(
    pg_sessions: sessionmaker[Session], settings: Settings, flower: str, tmp_path: Path
) -> None:
    with WorkerProcess(settings, tmp_path, concurrency=2, name="flowerw") as worker:
        send_id = start_example_send(pg_sessions, settings, 30, 10, enqueue_batch)
        assert_finished(pg_sessions, send_id, worker, timeout=60)

        log = tmp_path / "flower.log"
        _wait_for(
            lambda: any(n.startswith("flowerw@") for n in _json(f"{flower}/api/workers?refresh=1")),
            30,
            log,
        )
        _wait_for(lambda: len(_batches(flower)) >= 3, 30, log)
        tasks = _batches(flower)
        assert {task["state"] for task in tasks} == {"SUCCESS"}
        assert all(task["worker"].startswith("flowerw@") for task in tasks)


def _batches(flower: str) -> list[dict[str, Any]]:
    tasks = _json(f"{flower}/api/tasks?taskname={DELIVER_BATCH}")
    return [t for t in tasks.values() if t.get("name") == DELIVER_BATCH and t["state"] == "SUCCESS"]


def _get(url: str) -> str:
    try:
        return httpx.get(url, timeout=5).text
    except httpx.HTTPError:
        return ""


def _json(url: str) -> dict[str, Any]:
    response = httpx.get(url, timeout=10)
    response.raise_for_status()
    found: dict[str, Any] = response.json()
    return found


def _wait_for(condition: Callable[[], bool], timeout: float, log: Path) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(0.3)
    raise AssertionError(f"not seen within {timeout} s; Flower's log:\n{log.read_text()[-3000:]}")
