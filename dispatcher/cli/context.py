"""What every command shares: settings, sessions and the Celery app.

Errors are translated once, for every command, in :mod:`dispatcher.cli.errors`.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from typing import Any, TypeVar

import click
from sqlalchemy.orm import Session, sessionmaker

from dispatcher.config import Settings
from dispatcher.db import create_db_engine, create_session_factory

R = TypeVar("R")


class AppContext:
    """Created once per command run; database and broker are opened on first use."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self._sessions: sessionmaker[Session] | None = None
        self._celery: Any = None

    @property
    def sessions(self) -> sessionmaker[Session]:
        if self._sessions is None:
            self._sessions = create_session_factory(create_db_engine(self.settings.database_url))
        return self._sessions

    @contextmanager
    def transaction(self) -> Iterator[Session]:
        with self.sessions.begin() as session:
            yield session

    def about_address(self, service: Callable[[Session, Sequence[str], str], R], email: str) -> R:
        """Run ``service(session, secret keys, email)`` in one transaction.

        The services that find a person by address (suppressions, export, erasure)
        take the secret keys, since the suppression list keeps only HMACs of them.
        """
        with self.transaction() as session:
            return service(session, self.settings.all_secret_keys, email)

    def enqueue(self, batch_ids: list[int]) -> None:
        """Hand batches to the broker (after the transaction that marked them committed)."""
        if not batch_ids:
            return
        if self._celery is None:
            from dispatcher.worker.app import create_celery  # the broker only when needed

            self._celery = create_celery(self.settings)
        from dispatcher.worker.tasks import enqueue_batch

        for batch_id in batch_ids:
            enqueue_batch(batch_id)


pass_app = click.make_pass_decorator(AppContext)
