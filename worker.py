"""The Celery application for ``celery -A worker worker`` and ``celery -A worker beat``."""

from __future__ import annotations

from dispatcher.celeryapp import create_celery
from dispatcher.config import Settings

app = create_celery(Settings.from_env())
