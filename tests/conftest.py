"""Shared fixtures: each run gets its own PostgreSQL database and Redis key prefix.

Tests talk to the machine's real services on 127.0.0.1 (PostgreSQL, Redis) and
to SMTP servers and Celery worker processes they start themselves. Nothing here
stops or changes the shared services; runs never collide.
"""

from __future__ import annotations

import dataclasses
import os
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from dispatcher.config import SendingSettings, Settings, SmtpSettings
from dispatcher.db import create_db_engine, create_session_factory
from tests.support.database import migrate, scratch_database, truncate_all

PG_ADMIN_URL = os.environ.get("TEST_PG_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test")
REDIS_URL = os.environ.get("TEST_REDIS_URL", "redis://127.0.0.1:6379/0")
RUN_ID = uuid.uuid4().hex[:10]
SECRET = "test-secret-key-long-enough-to-sign-0123"


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
def broker_prefix(request: pytest.FixtureRequest) -> str:
    """A Redis key prefix for one test: its queues are nobody else's."""
    return f"test-{RUN_ID}-{uuid.uuid4().hex[:6]}:"


@pytest.fixture
def make_settings(tmp_path: Path) -> Callable[..., Settings]:
    """Build Settings for a test; keyword arguments override fields.

    Each test gets a Redis key prefix of its own unless it names one, so that the web
    app's rate limits (sign-up, login) count only that test's requests, not those of
    every test and every concurrent run on the machine's shared Redis.
    """
    prefix = f"test-{RUN_ID}-{uuid.uuid4().hex[:6]}:"

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
            smtp=SmtpSettings(url=smtp_url, connect_timeout=5, command_timeout=10),
            sending=dataclasses.replace(
                sending or SendingSettings(), journal_dir=str(tmp_path / "journal")
            ),
        )
        return base.with_overrides(**overrides)

    return build
