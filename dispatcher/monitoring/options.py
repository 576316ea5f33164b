"""Monitoring's settings, read from :class:`~dispatcher.config.Settings` when it has them.

The fields are asked of the lead for ``dispatcher/config.py`` (``HEARTBEAT_SECONDS``,
``METRICS_TOKEN``, ``API_TOKEN``); until they exist the defaults below apply, and
nothing else has to change once they do.
"""

from __future__ import annotations

from dataclasses import dataclass

from dispatcher.config import Settings

HEARTBEAT_SECONDS = 5.0
#: A heartbeat not renewed for this many intervals means the process is gone.
HEARTBEAT_MISSES = 3


@dataclass(frozen=True)
class MonitoringOptions:
    heartbeat_seconds: float = HEARTBEAT_SECONDS  # HEARTBEAT_SECONDS
    metrics_token: str | None = None  # METRICS_TOKEN: bearer token for /metrics from afar
    api_token: str | None = None  # API_TOKEN: bearer token for the read-only /api/

    @property
    def heartbeat_ttl(self) -> float:
        return self.heartbeat_seconds * HEARTBEAT_MISSES


def monitoring_options(settings: Settings) -> MonitoringOptions:
    return MonitoringOptions(
        heartbeat_seconds=settings.heartbeat_seconds or HEARTBEAT_SECONDS,
        metrics_token=settings.metrics_token,
        api_token=settings.api_token,
    )
