"""Fixtures for the flow tests: the office, sends and the CLI in this process, on PostgreSQL.

- ``edition_id``: the example newsletter and its edition 44, for ``desk`` tests.
- ``invoke``: runs the ``dispatcher`` command on this run's PostgreSQL, where a list
  ``cronache`` exists; ``input`` is typed at its prompts.

The root conftest provides the rest (``desk``, ``make_runtime``, ``memory``, ...).
"""

from __future__ import annotations

from collections.abc import Callable

import pytest
from click.testing import CliRunner, Result
from sqlalchemy.orm import Session, sessionmaker

from dispatcher.cli.main import cli
from subscribers.service import create_list
from tests.conftest import ANY_TIME, SECRET
from tests.support.admin import Desk
from tests.support.data import add_example_edition


@pytest.fixture
def edition_id(desk: Desk, newsletter: int) -> int:
    """The example edition (number 44) of the example newsletter."""
    with desk.sessions.begin() as session:
        return add_example_edition(session, desk.settings)


@pytest.fixture
def invoke(pg_url: str, pg_sessions: sessionmaker[Session]) -> Callable[..., Result]:
    with pg_sessions.begin() as session:
        create_list(session, "cronache", "Cronache da Palazzo Cisterna")
    env = {"DATABASE_URL": pg_url, "SECRET_KEY": SECRET, "SECRET_KEY_FALLBACKS": ""}
    env |= ANY_TIME

    def run(*args: str, input: str | None = None) -> Result:
        return CliRunner().invoke(cli, list(args), env=env, input=input, catch_exceptions=False)

    return run
