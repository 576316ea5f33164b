"""``dispatcher web``: serve the web app (public pages, admin, console, API, metrics)."""

from __future__ import annotations

import logging

import click
import uvicorn

from dispatcher.cli.context import AppContext, pass_app
from dispatcher.web import create_app
from dispatcher.web.security import RedactTokens


@click.command("web")
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on.")
@click.option("--port", default=8000, show_default=True, type=int, help="Port to listen on.")
@pass_app
def web(app: AppContext, host: str, port: int) -> None:
    """Serve the web app with uvicorn (behind a TLS-terminating proxy in production)."""
    config = uvicorn.Config(create_app(app.settings), host=host, port=port, proxy_headers=True)
    # Added once uvicorn has configured its loggers: personal tokens stay out of the log.
    logging.getLogger("uvicorn.access").addFilter(RedactTokens())
    uvicorn.Server(config).run()
