"""``/metrics``: the console's figures for Prometheus.

Access: operators usually scrape from the same machine or network, so a request
from the loopback address that did not come through a proxy (no
``X-Forwarded-For`` or ``Forwarded`` header) is let in; any other needs
``Authorization: Bearer <METRICS_TOKEN>``. Without a token set, /metrics is
loopback only. Behind a reverse proxy on the same machine that adds no
forwarding header, block /metrics at the proxy or set METRICS_TOKEN.
"""

from __future__ import annotations

import hmac
import ipaddress

from fastapi import FastAPI, Request
from fastapi.responses import PlainTextResponse, Response
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, generate_latest

from dispatcher.monitoring.prometheus import DispatcherCollector
from dispatcher.office.reach_metrics import ReachCollector
from dispatcher.web.routes.console import monitoring_reader
from dispatcher.web.state import WebState

FORWARDING_HEADERS = ("x-forwarded-for", "forwarded", "x-real-ip")


def allowed(request: Request, token: str | None) -> bool:
    """Whether this request may read the metrics (see the module docstring)."""
    given = request.headers.get("authorization", "")
    if token and hmac.compare_digest(given.encode(), f"Bearer {token}".encode()):
        return True
    if any(name in request.headers for name in FORWARDING_HEADERS):
        return False
    return _loopback(request.client.host if request.client else "")


def install(app: FastAPI) -> None:
    """Add ``/metrics`` to ``app``, with a registry of its own (apps do not share metrics)."""
    state: WebState = app.state.web
    reader = monitoring_reader(state)
    registry = CollectorRegistry(auto_describe=False)
    registry.register(DispatcherCollector(state.sessions, reader.system))
    registry.register(ReachCollector(state.sessions))

    @app.get("/metrics", include_in_schema=False)
    def metrics(request: Request) -> Response:
        if not allowed(request, reader.settings.metrics_token):
            return PlainTextResponse("forbidden: use a bearer token\n", status_code=403)
        return Response(generate_latest(registry), media_type=CONTENT_TYPE_LATEST)


def _loopback(host: str) -> bool:
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False
