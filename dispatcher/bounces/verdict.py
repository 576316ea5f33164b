"""The vocabulary of the bounce parsers: what a returned message says, as plain values.

The parsers (:mod:`~dispatcher.bounces.dsn`, :mod:`~dispatcher.bounces.arf`,
:mod:`~dispatcher.bounces.autoreply`, :mod:`~dispatcher.bounces.classify`) only
read messages and return these; nothing here knows about the database.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass


class Severity(enum.StrEnum):
    """How bad a delivery failure is for the address."""

    HARD = "hard"  # the address does not work: stop sending to it
    SOFT = "soft"  # it may work later (full mailbox, retries expired, a block of us): count it


class Nature(enum.StrEnum):
    """What kind of message came back."""

    BOUNCE = "bounce"  # a delivery failure naming at least one address
    NOTICE = "notice"  # a delay (or relay, expansion, delivery) notice: the message may arrive
    COMPLAINT = "complaint"  # an RFC 5965 feedback report of type abuse or fraud
    AUTO_REPLY = "auto_reply"  # a vacation message or other automatic answer
    OTHER = "other"  # none of these (a success notice, a person writing back, spam)


@dataclass(frozen=True)
class Failure:
    """One recipient a bounce names, and why its delivery failed.

    :param address: the recipient as the bounce gives it (case kept)
    :param severity: hard or soft
    :param status: the RFC 3463 enhanced status code (``5.1.1``), when one was found
    :param diagnostic: the remote server's words, or the parser's reason
    """

    address: str
    severity: Severity
    status: str | None = None
    diagnostic: str = ""


@dataclass(frozen=True)
class RecipientStatus:
    """One recipient block of an RFC 3464 report, whatever its action.

    Those that did not fail (delayed, delivered, relayed, expanded) are a verdict's notices.
    """

    address: str  # the original recipient (the address we sent to) when given, else the final
    action: str  # failed, delayed, delivered, relayed, expanded; "" when missing
    status: str | None = None  # the enhanced status code, e.g. 4.4.1
    diagnostic: str = ""  # the remote server's words, without the "smtp;" type
    retry_until: str = ""  # Will-Retry-Until of a delay notice


@dataclass(frozen=True)
class Verdict:
    """What one returned message says.

    :param nature: bounce, complaint, auto-reply or other
    :param failures: for a bounce, every failed recipient found
    :param notices: the recipients that were only delayed (or delivered, relayed,
        expanded); a DSN may name some of both
    :param parser: which parser recognised it (``dsn``, ``fallback``, ``arf``, ``autoreply``)
    :param reason: for the other natures, why the message was put there
    :param candidates: addresses inside the message that may carry our signed tokens
        (a feedback report's Original-Mail-From, the enclosed Return-Path and
        List-Unsubscribe mailto), in order of trust
    """

    nature: Nature
    failures: tuple[Failure, ...] = ()
    notices: tuple[RecipientStatus, ...] = ()
    parser: str = ""
    reason: str = ""
    candidates: tuple[str, ...] = ()

    @property
    def worst(self) -> Failure | None:
        """The failure that decides what happens: a hard one if any, else the first."""
        hard = [f for f in self.failures if f.severity is Severity.HARD]
        return next(iter(hard or self.failures), None)
