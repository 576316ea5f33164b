"""``dispatcher web``: serve the web app (public pages, admin, console, API, metrics)."""

from __future__ import annotations

import copy
from typing import Any

import click
import uvicorn
import uvicorn.config

from dispatcher.cli.context import AppContext, pass_app

# Named, not imported: uvicorn imports the app when it starts, so the command line
# never loads the web app for its other commands (and the web app stays an edge that
# nothing imports).
WEB_APP = "dispatcher.web.asgi:app_from_environment"
REDACT_FILTER = "dispatcher.web.security.RedactTokens"


@click.command("web")
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on.")
@click.option("--port", default=8000, show_default=True, type=int, help="Port to listen on.")
@pass_app
def web(app: AppContext, host: str, port: int) -> None:
    """Serve the web app with uvicorn (behind a TLS-terminating proxy in production)."""
    app.settings.check_service_secrets()  # refused here, in one line, before uvicorn starts
    uvicorn.run(
        WEB_APP,
        factory=True,
        host=host,
        port=port,
        proxy_headers=True,
        log_config=access_log_config(),
    )


def access_log_config() -> dict[str, Any]:
    """uvicorn's logging, with personal tokens cut out of the access log."""
    config = copy.deepcopy(uvicorn.config.LOGGING_CONFIG)
    config.setdefault("filters", {})["redact_tokens"] = {"()": REDACT_FILTER}
    config["handlers"]["access"]["filters"] = ["redact_tokens"]
    return config
