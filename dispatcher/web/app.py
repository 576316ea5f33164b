"""The app factory: one ASGI app for public pages, admin, console, API and metrics."""

from __future__ import annotations

from collections.abc import Callable

from fastapi import FastAPI
from fastapi.staticfiles import StaticFiles
from sqlalchemy.orm import Session, sessionmaker

from dispatcher.config import Settings
from dispatcher.db import create_db_engine, create_session_factory
from dispatcher.message.dkim import configured_keys
from dispatcher.transport import create_transport
from dispatcher.transport.base import Transport
from dispatcher.transport.signing import signing_factory
from dispatcher.web import errors, security
from dispatcher.web.routes import ROUTERS
from dispatcher.web.state import WebState
from dispatcher.web.templating import WEB_TEMPLATES
from subscribers.tokens import Signer


def create_app(
    settings: Settings,
    *,
    sessions: sessionmaker[Session] | None = None,
    transport_factory: Callable[[], Transport] | None = None,
) -> FastAPI:
    """Build the web app for ``settings``.

    :param sessions: a session factory to use instead of one on ``settings.database_url``
    :param transport_factory: makes the transport for confirmation mails and proofs
    :raises ConfigurationError: when the secret key is one anybody could know
    """
    settings.check_service_secrets()
    app = FastAPI(
        title="Newsletter dispatcher",
        version="1.0",
        openapi_url="/api/openapi.json",
        docs_url=None,  # served from our own static files: routes/api_docs.py
        redoc_url=None,
    )
    app.state.web = WebState(
        settings=settings,
        sessions=sessions or create_session_factory(create_db_engine(settings.database_url)),
        signer=Signer(settings.all_secret_keys),
        # Confirmation mails and proofs are signed like the newsletters.
        transport_factory=signing_factory(
            transport_factory or (lambda: create_transport(settings.smtp)),
            configured_keys(settings.dkim),
        ),
    )
    errors.install(app)
    app.mount("/static", StaticFiles(directory=WEB_TEMPLATES / "static"), name="static")
    for install in ROUTERS:
        install(app)
    security.install(app)
    return app
