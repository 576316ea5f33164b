"""The web app built from the environment: what ``dispatcher web`` serves.

Any ASGI server can serve it the same way:
``uvicorn --factory dispatcher.web.asgi:app_from_environment``.
"""

from __future__ import annotations

from fastapi import FastAPI

from dispatcher.config import Settings
from dispatcher.web.app import create_app


def app_from_environment() -> FastAPI:
    """The web app for the settings in the environment.

    :raises ConfigurationError: naming the variable whose value cannot be used
    """
    return create_app(Settings.from_env())
