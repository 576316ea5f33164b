"""Transports: how filled messages leave the dispatcher, one outcome per message.

:func:`create_transport` picks the transport that ``SMTP_URL`` names: an SMTP
relay (``smtp://``, ``smtps://``) or an outbox folder (``file:///path``). There is
no default: a missing ``SMTP_URL`` is an error, never a quiet switch to files.
"""

from __future__ import annotations

from urllib.parse import urlsplit

from dispatcher.config import SmtpSettings
from dispatcher.errors import ConfigurationError
from dispatcher.transport.base import Outcome, OutcomeKind, Transport
from dispatcher.transport.memory import MemoryTransport
from dispatcher.transport.outbox import OutboxTransport
from dispatcher.transport.smtp import SmtpTransport

__all__ = [
    "MemoryTransport",
    "OutboxTransport",
    "Outcome",
    "OutcomeKind",
    "SmtpTransport",
    "Transport",
    "create_transport",
]


def create_transport(settings: SmtpSettings) -> Transport:
    """The transport ``settings.url`` names; nothing is opened yet.

    :param settings: SMTP settings; ``url`` is ``smtp://``, ``smtps://`` or ``file:///path``
    :returns: an :class:`SmtpTransport` or an :class:`OutboxTransport`
    :raises ConfigurationError: when the URL is missing, has another scheme, or a
        ``file:`` URL has no absolute path
    """
    if not settings.url:
        raise ConfigurationError(
            "SMTP_URL is not set: use smtp://host:port for a relay "
            "or file:///path/to/outbox for an outbox folder"
        )
    if settings.scheme in ("smtp", "smtps"):
        return SmtpTransport(settings)
    if settings.scheme == "file":
        if (
            urlsplit(settings.url).netloc not in ("", "localhost")
            or not settings.outbox_path.is_absolute()
        ):
            raise ConfigurationError(
                "SMTP_URL file: URLs need an absolute path: file:///path/to/outbox"
            )
        return OutboxTransport(settings.outbox_path, is_delivery=settings.outbox_is_delivery)
    raise ConfigurationError(
        f"SMTP_URL scheme {settings.scheme!r} is not supported: use smtp://, smtps:// or file:///"
    )
