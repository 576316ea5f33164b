"""Fixtures for the integration tests: a real Celery worker process against real services.

- ``sending``: the ``SendingSettings`` the test's worker runs with: the quick timers of
  ``tests.support.sending.quick_policy``, with the fields a ``sending`` mark names
  (``pytestmark = pytest.mark.sending(batch_size=200)``).
- ``settings``: Settings on this run's PostgreSQL and the test's Redis key prefix, SMTP
  to the ``smtpd`` fixture (the root conftest's, or the module's own), with Celery set
  up so that this process enqueues as the CLI does.
- ``worker``: a worker process with those settings (prefork pool of two, beat
  embedded), stopped after the test.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from dispatcher.config import SendingSettings, Settings
from tests.smtpd import SmtpServer
from tests.support.sending import quick_policy
from tests.support.worker import WorkerProcess


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "sending(**fields): SendingSettings fields for the worker")


@pytest.fixture
def sending(request: pytest.FixtureRequest) -> SendingSettings:
    mark = request.node.get_closest_marker("sending")
    return quick_policy(**(mark.kwargs if mark else {}))


@pytest.fixture
def settings(
    enqueuing_settings: Callable[..., Settings], smtpd: SmtpServer, sending: SendingSettings
) -> Settings:
    return enqueuing_settings(smtp_url=smtpd.url, sending=sending)


@pytest.fixture
def worker(settings: Settings, tmp_path: Path) -> Iterator[WorkerProcess]:
    with WorkerProcess(settings, tmp_path, concurrency=2) as process:
        yield process
