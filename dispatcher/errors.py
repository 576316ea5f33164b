"""The project's one exception tree, drawn whole.

Every exception the project raises on purpose derives from ``NewsletterError``.
The root and the subscribers branch are defined in :mod:`subscribers.errors` (the
lowest layer: ``subscribers`` may not import ``dispatcher``) and re-exported here,
so ``from dispatcher.errors import ...`` reaches every class. Third-party errors
are translated into these at the adapter that meets them (``raise ... from exc``),
so callers never need to know whether a failure came from mjml-python, PyYAML,
sockets or SQLAlchemy. The edges translate the tree once: ``dispatcher.web.errors``
into pages and JSON, ``dispatcher.cli.errors`` into a message and exit status 1.
Classes defined in another module name it in brackets::

    NewsletterError
    ├── InputError                      a date or a slug given is unusable [subscribers.errors]
    ├── SubscribersError                the subscribers package refused [subscribers.errors]
    │   ├── InvalidTokenError           a forged, altered or expired token, or one for another use
    │   ├── ImportFileError             a CSV file that cannot be read at all (names file and line)
    │   ├── UnknownListError            a list slug or id that does not exist
    │   ├── UnknownSubscriberError      nobody has this address or id
    │   ├── SubscriptionStateError      a consent step not allowed in the subscription's state
    │   └── InvalidAddressError         an address that is not a valid email address
    └── DispatcherError                 the dispatcher refused or failed
        ├── ConfigurationError          a setting is missing or malformed
        ├── ContentError                an edition or newsletter file is wrong
        │   ├── EditionFileError        ... with the file, line and field it concerns
        │   ├── ImageError              an upload that is not a usable picture [office.images]
        │   ├── FormRefusedError        the edition form's problems, at their fields
        │   │                           [web.routes.admin.editor]
        │   └── ProofError              a proof's addresses cannot be used [office.proofs]
        ├── TemplateError               Jinja2 or MJML refused a template
        ├── MessageError                a message cannot be built (bad header value, line too long)
        ├── NotFoundError               a list, edition, send or subscriber id that does not exist
        ├── StateError                  an operation not allowed in the object's current state
        │   ├── NotApprovedError        content to send is not the approved one [office.approvals]
        │   ├── ApprovalMismatchError   edition changed since the approver saw it [office.approvals]
        │   ├── PreflightFailedError    preflight found errors: no approval [office.approvals]
        │   ├── TimeInPastError         a send scheduled for a time already gone [office.scheduling]
        │   ├── NotScheduledError       the send started or was cancelled [office.scheduling]
        │   ├── EditionLockedError      a send is waiting: edition is locked [office.scheduling]
        │   ├── CalendarRefusedError    a block, holiday or the hours refuse it [office.calendar]
        │   ├── BlockOverrideError      an override of a block without a justification
        │   │                           [office.calendar]
        │   ├── AccountRefusedError     a user name, role or password change refused
        │   │                           [office.accounts]
        │   ├── SettingsChangedError    a list's settings changed under the confirmation page
        │   │                           [office.list_settings]
        │   ├── ImageInUseError         a picture an edition or a newsletter's logo uses
        │   │                           [office.media]
        │   └── ClaimLostError          a batch's lease expired, the rows are no longer its own
        │                               (private to the batch loop) [sends.outcomes]
        ├── AccessError                 the web request may not do this
        │   ├── LoginRequired           nobody is logged in: login page, or 401 [web.auth]
        │   ├── Forbidden               logged in without the role needed: 403 [web.auth]
        │   ├── StepRequired            a new password or TOTP enrolment is owed first [web.auth]
        │   └── CsrfFailed              unsafe request without the CSRF token: 403 [web.auth]
        ├── RateLimited                 the global sending budget is spent for a while: hold the
        │                               send (private to the batch loop) [sends.ratelimit]
        ├── JournalError                the outcome journal cannot be written [sends.journal]
        ├── BrokerUnavailableError      the broker did not answer a monitoring question
        ├── BounceError                 a returned message (bounce, report, reply) cannot be read
        ├── SessionLost                 the SMTP session broke; the transport turns it into a
        │                               DeliveryError below (private) [transport.smtp_wire]
        └── DeliveryError               the relay did not take a message
            ├── RelayUnavailableError   nobody answered, or 421 at connect: hold the whole send
            ├── TransientDeliveryError  4xx or connection lost before the final dot: retry later
            ├── PermanentDeliveryError  5xx: do not retry
            └── UncertainDeliveryError  no answer after the final dot: the relay may have taken it

``tests/unit/test_exception_tree.py`` checks that every exception class in
``dispatcher`` and ``subscribers`` derives from the root and appears above.
"""

from __future__ import annotations

from dataclasses import dataclass

from subscribers.errors import (
    ImportFileError,
    InputError,
    InvalidAddressError,
    InvalidTokenError,
    NewsletterError,
    SubscribersError,
    SubscriptionStateError,
    UnknownListError,
    UnknownSubscriberError,
)

__all__ = [
    "AccessError",
    "BounceError",
    "BrokerUnavailableError",
    "ConfigurationError",
    "ContentError",
    "DeliveryError",
    "DispatcherError",
    "EditionFileError",
    "ImportFileError",
    "InputError",
    "InvalidAddressError",
    "InvalidTokenError",
    "MessageError",
    "NewsletterError",
    "NotFoundError",
    "PermanentDeliveryError",
    "RelayUnavailableError",
    "StateError",
    "SubscribersError",
    "SubscriptionStateError",
    "TemplateError",
    "TransientDeliveryError",
    "UncertainDeliveryError",
    "UnknownListError",
    "UnknownSubscriberError",
]


class DispatcherError(NewsletterError):
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

    def __post_init__(self) -> None:
        # A problem from dispatcher.editions.checks names itself for translation.
        key = getattr(self.problem, "key", "")
        if key:
            self.coded(key, **getattr(self.problem, "params", {}))

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


class AccessError(DispatcherError):
    """The web request may not do this: nobody logged in, a missing role or CSRF token."""


class BrokerUnavailableError(DispatcherError):
    """The broker did not answer a monitoring question (queue depth): the figures say so."""


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
