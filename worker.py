"""The Celery application for ``celery -A worker worker`` and ``celery -A worker beat``."""

from __future__ import annotations

from dispatcher.config import Settings
from dispatcher.worker.app import create_celery

app = create_celery(Settings.from_env())
