"""The app's routers; each module has ``install(app)`` that adds its routes and middleware.

The order matters only for middleware: ``login`` installs the session middleware.
"""

from __future__ import annotations

from collections.abc import Callable

from fastapi import FastAPI

from dispatcher.web.routes import (
    admin,
    api,
    api_docs,
    archive,
    console,
    health,
    login,
    metrics,
    public,
)

ROUTERS: tuple[Callable[[FastAPI], None], ...] = (
    health.install,
    login.install,
    public.install,
    archive.install,
    admin.install,
    console.install,
    api.install,
    api_docs.install,
    metrics.install,
)
