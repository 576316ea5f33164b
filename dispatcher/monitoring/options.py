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
    heartbeat = getattr(settings, "heartbeat_seconds", None) or HEARTBEAT_SECONDS
    return MonitoringOptions(
        heartbeat_seconds=float(heartbeat),
        metrics_token=getattr(settings, "metrics_token", None) or None,
        api_token=getattr(settings, "api_token", None) or None,
    )
