"""The Celery application for ``celery -A worker worker`` and ``celery -A worker beat``."""

from __future__ import annotations

from dispatcher.config import Settings
from dispatcher.errors import ConfigurationError
from dispatcher.worker.app import create_celery

try:
    settings = Settings.from_env()
    # The worker and the beat sign every link they send: never with a key anyone could know.
    settings.check_service_secrets()
except ConfigurationError as exc:
    # One line instead of Celery's "Unable to load celery application" and a traceback.
    raise SystemExit(f"dispatcher: {exc}") from None

app = create_celery(settings)
