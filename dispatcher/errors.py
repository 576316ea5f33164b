"""The dispatcher's one exception tree.

Third-party errors are translated into these at the adapter that meets them
(``raise ... from exc``), so callers never need to know whether a failure came
from mjml-python, PyYAML, smtplib-level sockets or SQLAlchemy::

    DispatcherError
    ├── ConfigurationError          a setting is missing or malformed
    ├── ContentError                an edition or newsletter file is wrong
    │   └── EditionFileError        ... with the file, line and field it concerns
    ├── TemplateError               Jinja2 or MJML refused a template
    ├── MessageError                a message cannot be built (bad header value, line too long)
    ├── NotFoundError               a list, edition, send or subscriber id that does not exist
    ├── StateError                  an operation not allowed in the object's current state
    ├── BounceError                 a returned message (bounce, report, reply) cannot be read
    └── DeliveryError               the relay did not take a message
        ├── RelayUnavailableError   nobody answered, or 421 at connect: hold the whole send
        ├── TransientDeliveryError  4xx or a dropped connection before the final dot: retry later
        ├── PermanentDeliveryError  5xx: do not retry
        └── UncertainDeliveryError  no answer after the final dot: the relay may have taken it

``subscribers`` has its own small tree rooted in ``subscribers.errors.SubscribersError``;
``DispatcherError`` does not inherit from it, so the web and CLI edges catch both.
"""

from __future__ import annotations

from dataclasses import dataclass


class DispatcherError(Exception):
    """Base of every error the dispatcher raises on purpose."""


class ConfigurationError(DispatcherError):
    """A setting is missing or malformed; the message names the setting."""


class ContentError(DispatcherError):
    """An edition or newsletter settings file cannot be used."""


@dataclass
class EditionFileError(ContentError):
    """A problem in an edition file, located for the person who wrote it.

    :param path: the file as the user named it
    :param line: 1-based line in the file, or None when the problem is the whole file
    :param field: the front-matter field (dotted, e.g. ``cover.image``) or ``body``
    :param problem: what is wrong, in plain words
    """

    path: str
    line: int | None
    field: str | None
    problem: str

    def __str__(self) -> str:
        where = self.path if self.line is None else f"{self.path}:{self.line}"
        what = f" [{self.field}]" if self.field else ""
        return f"{where}:{what} {self.problem}"


class TemplateError(DispatcherError):
    """Jinja2 or mjml-python refused a template."""


class MessageError(DispatcherError):
    """A message cannot be built or filled (for example a header value with a line break)."""


class NotFoundError(DispatcherError):
    """An object named by id or slug does not exist."""


class StateError(DispatcherError):
    """The operation is not allowed in the object's current state."""


class BounceError(DispatcherError):
    """A message that came back to the bounce address cannot be read or classified."""


@dataclass
class DeliveryError(DispatcherError):
    """The relay did not take a message.

    :param code: the SMTP reply code, or 0 when there was no reply (connection lost, timeout)
    :param reply: the reply text, or a description of what happened instead
    """

    code: int
    reply: str

    def __str__(self) -> str:
        return f"{self.code} {self.reply}" if self.code else self.reply


class RelayUnavailableError(DeliveryError):
    """Nobody answered at the relay's address, or it said 421 at connect: hold the send."""


class TransientDeliveryError(DeliveryError):
    """A 4xx reply or a connection lost before the final dot: try again later."""


class PermanentDeliveryError(DeliveryError):
    """A 5xx reply: the relay refused the message for good."""


class UncertainDeliveryError(DeliveryError):
    """No reply after the final dot of DATA: the relay may or may not have taken the message."""
