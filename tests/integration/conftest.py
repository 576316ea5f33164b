"""Fixtures for the integration tests: a real Celery worker process against real services.

- ``sending``: the ``SendingSettings`` the test's worker runs with: the quick timers of
  ``tests.support.sending.quick_policy``, with the fields a ``sending`` mark names
  (``pytestmark = pytest.mark.sending(batch_size=200)``).
- ``settings``: Settings on this run's PostgreSQL and the test's Redis key prefix, SMTP
  to the ``smtpd`` fixture (the root conftest's, or the module's own), with Celery set
  up so that this process enqueues as the CLI does.
- ``broker``: the broker URL: Redis under the test's key prefix, or, for a test
  parametrised with ``pytest.mark.parametrize("broker", BROKERS, indirect=True)``,
  RabbitMQ in a vhost of the test's own (then workers and the beat report to the
  database, there being no Redis).
- ``worker``: a worker process with those settings (prefork pool of two, beat
  embedded), stopped after the test.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from dispatcher.config import SendingSettings, Settings
from tests.conftest import REDIS_URL, RUN_ID
from tests.smtpd import SmtpServer
from tests.support.rabbit import rabbit_vhost
from tests.support.sending import quick_policy
from tests.support.worker import WorkerProcess


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "sending(**fields): SendingSettings fields for the worker")


@pytest.fixture
def sending(request: pytest.FixtureRequest) -> SendingSettings:
    mark = request.node.get_closest_marker("sending")
    return quick_policy(**(mark.kwargs if mark else {}))


#: For ``indirect`` parametrisation of the ``broker`` fixture.
BROKERS = ["redis", "rabbitmq"]


@pytest.fixture
def broker(request: pytest.FixtureRequest) -> Iterator[str]:
    kind = getattr(request, "param", "redis")
    if kind == "redis":
        yield REDIS_URL
    elif kind == "rabbitmq":
        with rabbit_vhost(RUN_ID) as url:
            yield url
    else:
        raise ValueError(f"no broker called {kind!r}")


@pytest.fixture
def settings(
    enqueuing_settings: Callable[..., Settings],
    smtpd: SmtpServer,
    sending: SendingSettings,
    broker: str,
) -> Settings:
    return enqueuing_settings(smtp_url=smtpd.url, sending=sending, broker_url=broker)


@pytest.fixture
def worker(settings: Settings, tmp_path: Path) -> Iterator[WorkerProcess]:
    with WorkerProcess(settings, tmp_path, concurrency=2) as process:
        yield process
