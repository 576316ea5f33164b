"""The app's routers; each module has ``install(app)`` that adds its routes and middleware."""

from __future__ import annotations

from collections.abc import Callable

from fastapi import FastAPI

from dispatcher.web.routes import health, login

ROUTERS: tuple[Callable[[FastAPI], None], ...] = (health.install, login.install)
