"""Fixtures for every test folder: each run gets its own PostgreSQL database and Redis key prefix.

Tests talk to the machine's real services on 127.0.0.1 (PostgreSQL, Redis) and
to SMTP servers and Celery worker processes they start themselves. Nothing here
stops or changes the shared services; runs never collide.

What is here:

- ``run_id``; ``pg_url``, ``pg_engine``: this run's PostgreSQL database, migrated;
  ``pg_sessions``: sessions on it, every table emptied before the test;
  ``sqlite_url``, ``sqlite_sessions``: a migrated SQLite file of the test's own.
- ``broker_prefix``: the test's Redis key prefix; ``redis_store``: Redis, with the
  keys of that prefix (and only those) removed afterwards.
- ``make_settings``: builds ``Settings`` (keyword arguments override fields);
  ``enqueuing_settings``: the same on this run's PostgreSQL and the test's key prefix,
  with Celery set up so that this process enqueues as the CLI does.
- ``smtpd``: a test SMTP server (``tests/smtpd.py``) on a free port; modules that
  need PIPELINING, delays or faults define their own. ``smtp_settings``: Settings on
  this run's PostgreSQL that send mail to it.
- ``make_runtime``: builds the batch loop's ``Runtime`` on PostgreSQL with ``memory`` as
  its transport (keyword arguments override settings fields), closed after the test.
- ``memory``: the in-memory transport; ``newsletter``: the example newsletter's list id
  on ``pg_sessions``; ``newsletter_settings``: its settings from ``examples/``.
- ``desk``: the office's admin app on ``pg_sessions`` with a user of every role and
  proofs going to ``memory``; it runs with ``desk_settings``, which a folder's
  conftest may override. ``quick_preflight``: preflight answers at once, clean.

Helpers that are not fixtures live in ``tests/support/``.
"""

from __future__ import annotations

import dataclasses
import os
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import redis
from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from dispatcher.config import SendingSettings, Settings, SmtpSettings
from dispatcher.db import create_db_engine, create_session_factory
from dispatcher.editions.newsletter import NewsletterSettings, load_newsletter_settings
from dispatcher.sends.runtime import Runtime
from dispatcher.transport.memory import MemoryTransport
from dispatcher.worker.app import create_celery
from tests.smtpd import SmtpServer
from tests.support.admin import Desk, fake_preflight, make_desk
from tests.support.data import NEWSLETTER_FILE, create_newsletter
from tests.support.database import migrate, scratch_database, truncate_all
from tests.support.rabbit import rabbit_vhost

PG_ADMIN_URL = os.environ.get("TEST_PG_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test")
REDIS_URL = os.environ.get("TEST_REDIS_URL", "redis://127.0.0.1:6379/0")
RUN_ID = uuid.uuid4().hex[:10]
SECRET = "test-secret-key-long-enough-to-sign-0123"
#: The environment of a CLI run in a test: the sending calendar off, as in make_settings
#: (an empty variable counts as unset, so "any hour" is written out).
ANY_TIME = {"SENDING_HOURS": "00:00-24:00", "NATIONAL_HOLIDAYS": "0", "LOCAL_HOLIDAYS": ""}


@pytest.fixture(scope="session")
def run_id() -> str:
    return RUN_ID


@pytest.fixture(scope="session")
def pg_url() -> Iterator[str]:
    """A PostgreSQL database of this run's own, migrated to the latest schema."""
    with scratch_database(PG_ADMIN_URL, f"dispatcher_test_{RUN_ID}") as url:
        yield url


@pytest.fixture(scope="session")
def pg_engine(pg_url: str) -> Iterator[Engine]:
    engine = create_db_engine(pg_url)
    yield engine
    engine.dispose()


@pytest.fixture
def pg_sessions(pg_engine: Engine) -> Iterator[sessionmaker[Session]]:
    """Sessions on the run's PostgreSQL database, emptied before each test."""
    truncate_all(pg_engine)
    yield create_session_factory(pg_engine)


@pytest.fixture
def sqlite_url(tmp_path: Path) -> str:
    url = f"sqlite:///{tmp_path}/dispatcher.sqlite"
    migrate(url)
    return url


@pytest.fixture
def sqlite_sessions(sqlite_url: str) -> Iterator[sessionmaker[Session]]:
    engine = create_db_engine(sqlite_url)
    yield create_session_factory(engine)
    engine.dispose()


@pytest.fixture
def broker_prefix() -> str:
    """A Redis key prefix for one test: its queues are nobody else's."""
    return f"test-{RUN_ID}-{uuid.uuid4().hex[:6]}:"


@pytest.fixture
def redis_store(broker_prefix: str) -> Iterator[redis.Redis]:
    """Redis, and every key of this test's prefix removed afterwards (nothing else)."""
    client = redis.Redis.from_url(REDIS_URL)
    yield client
    for key in client.scan_iter(match=f"{broker_prefix}*"):
        client.delete(key)
    client.close()


@pytest.fixture
def rabbit_url(run_id: str) -> Iterator[str]:
    """An AMQP URL on the machine's RabbitMQ, in a vhost of the test's own (then deleted)."""
    with rabbit_vhost(run_id) as url:
        yield url


@pytest.fixture
def make_settings(tmp_path: Path, broker_prefix: str) -> Callable[..., Settings]:
    """Build Settings for a test; keyword arguments override fields.

    The Redis key prefix is the test's ``broker_prefix`` unless it names one, so that the
    web app's rate limits (sign-up, login) count only that test's requests, not those of
    every test and every concurrent run on the machine's shared Redis.
    """
    prefix = broker_prefix

    def build(
        database_url: str = "sqlite://",
        smtp_url: str | None = None,
        sending: SendingSettings | None = None,
        **overrides: object,
    ) -> Settings:
        base = Settings(
            database_url=database_url,
            broker_url=REDIS_URL,
            broker_key_prefix=prefix,
            public_url="https://newsletter.example.org",
            secret_keys=(SECRET,),
            # Tests run at any hour and on any day: the calendar's own tests turn it on.
            sending_hours="",
            national_holidays=False,
            smtp=SmtpSettings(url=smtp_url, connect_timeout=5, command_timeout=10),
            sending=dataclasses.replace(
                sending or SendingSettings(), journal_dir=str(tmp_path / "journal")
            ),
        )
        return base.with_overrides(**overrides)

    return build


@pytest.fixture
def smtpd() -> Iterator[SmtpServer]:
    """A test SMTP server on a free port, keeping what it receives (a module may override it)."""
    with SmtpServer() as server:
        yield server


@pytest.fixture
def smtp_settings(
    make_settings: Callable[..., Settings], pg_url: str, smtpd: SmtpServer
) -> Settings:
    """Settings on this run's PostgreSQL that send mail to ``smtpd``."""
    return make_settings(database_url=pg_url, smtp_url=smtpd.url)


@pytest.fixture
def enqueuing_settings(
    make_settings: Callable[..., Settings], pg_url: str
) -> Callable[..., Settings]:
    """Build Settings on this run's PostgreSQL and the test's key prefix, and set Celery up.

    This process then enqueues batches as the CLI does, for a worker started with the
    same settings. Keyword arguments override fields, as with ``make_settings``.
    """

    def build(**overrides: Any) -> Settings:
        settings = make_settings(**{"database_url": pg_url, **overrides})
        create_celery(settings)
        return settings

    return build


@pytest.fixture(scope="session")
def newsletter_settings() -> NewsletterSettings:
    """The example newsletter's settings, as ``examples/cronache.toml`` gives them."""
    return load_newsletter_settings(NEWSLETTER_FILE)


@pytest.fixture
def memory() -> MemoryTransport:
    return MemoryTransport()


@pytest.fixture
def make_runtime(
    make_settings: Callable[..., Settings],
    pg_url: str,
    memory: MemoryTransport,
    pg_sessions: sessionmaker[Session],
) -> Iterator[Callable[..., Runtime]]:
    """Build Runtimes on this run's PostgreSQL whose transport is ``memory``."""
    made: list[Runtime] = []

    def build(**overrides: Any) -> Runtime:
        made.append(Runtime(make_settings(database_url=pg_url, **overrides), lambda: memory))
        return made[-1]

    yield build
    for runtime in made:
        runtime.close()


@pytest.fixture
def newsletter(pg_sessions: sessionmaker[Session]) -> int:
    """The example newsletter (``cronache``) on the run's PostgreSQL; its list id."""
    with pg_sessions.begin() as session:
        return create_newsletter(session).id


@pytest.fixture
def desk_settings(make_settings: Callable[..., Settings], pg_url: str) -> Settings:
    """The settings ``desk`` runs with: this run's PostgreSQL, the rest by default."""
    return make_settings(database_url=pg_url)


@pytest.fixture
def desk(
    desk_settings: Settings, pg_sessions: sessionmaker[Session], memory: MemoryTransport
) -> Desk:
    """The office's admin on ``pg_sessions``, a user of every role; proofs go to ``memory``."""
    return make_desk(desk_settings, pg_sessions, memory)


@pytest.fixture
def quick_preflight(monkeypatch: pytest.MonkeyPatch) -> None:
    """Preflight answers at once with no findings (the real one runs SpamAssassin for seconds)."""
    fake_preflight(monkeypatch)
