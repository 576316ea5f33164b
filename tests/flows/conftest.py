"""Fixtures for the flow tests: sends run in this process on the run's PostgreSQL.

- ``make_runtime``: builds the batch loop's ``Runtime`` on PostgreSQL whose transport is
  the ``memory`` fixture (keyword arguments override settings fields), closing each one
  after the test.
- ``edition_id``: the example newsletter and its edition 44, for ``desk`` tests.

The root conftest provides the rest (``desk``, ``memory``, ``newsletter``, ...).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest
from sqlalchemy.orm import Session, sessionmaker

from dispatcher.config import Settings
from dispatcher.sends.runtime import Runtime
from dispatcher.transport.memory import MemoryTransport
from tests.support.admin import Desk
from tests.support.data import add_example_edition


@pytest.fixture
def make_runtime(
    make_settings: Callable[..., Settings],
    pg_url: str,
    memory: MemoryTransport,
    pg_sessions: sessionmaker[Session],
) -> Iterator[Callable[..., Runtime]]:
    made: list[Runtime] = []

    def build(**overrides: Any) -> Runtime:
        made.append(Runtime(make_settings(database_url=pg_url, **overrides), lambda: memory))
        return made[-1]

    yield build
    for runtime in made:
        runtime.close()


@pytest.fixture
def edition_id(desk: Desk, newsletter: int) -> int:
    """The example edition (number 44) of the example newsletter."""
    with desk.sessions.begin() as session:
        return add_example_edition(session, desk.settings)
