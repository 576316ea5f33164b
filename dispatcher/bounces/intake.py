"""One returned message in, one transaction, one outcome out: what the server and CLI share.

Like a Celery task body, this is an edge: it owns the transaction around the
services of :mod:`~dispatcher.bounces.apply`. Reading and deciding happen before
the transaction opens, so a message that cannot be parsed costs no database
work, and a database failure (raised to the caller) is never mistaken for an
unparsable message.

Unparsable messages are counted, logged and, when a quarantine folder is
given, written there for a person to look at. Callers accept them rather than
refuse them: a refusal would make the relay retry for days and then bounce the
bounce. For the same reason a full quarantine (see
:class:`~dispatcher.bounces.mailfolder.Quota`) does not refuse: the message is
accepted and dropped, with a warning naming the folder.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Callable
from dataclasses import dataclass

from sqlalchemy.orm import Session, sessionmaker

from dispatcher.bounces.apply import Policy, apply
from dispatcher.bounces.decide import (
    Bounce,
    Decision,
    Ignore,
    Notify,
    decide,
    intended,
    read_message,
)
from dispatcher.bounces.mailfolder import MailFolder
from dispatcher.bounces.outcome import Outcome, Summary
from dispatcher.bounces.verp import DeliveryRef
from dispatcher.errors import BounceError
from subscribers.orm import utcnow
from subscribers.tokens import Signer

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Result:
    """What happened to one message, and why, for logs and listings."""

    outcome: Outcome
    detail: str


class BounceProcessor:
    """Reads, decides and records returned messages.

    :param sessions: opens one transaction per message
    :param domains: our bounce domains, lower-case; None accepts any domain
    :param quarantine: a folder for unparsable messages, with its quota (None: only log them)
    :param dry_run: decide but record nothing (the outcome is what would happen)
    """

    def __init__(
        self,
        sessions: sessionmaker[Session],
        signer: Signer,
        policy: Policy,
        domains: frozenset[str] | None,
        *,
        quarantine: MailFolder | None = None,
        dry_run: bool = False,
        clock: Callable[[], dt.datetime] = utcnow,
    ) -> None:
        self.sessions, self.signer, self.policy, self.domains = sessions, signer, policy, domains
        self.quarantine, self.dry_run, self.clock = quarantine, dry_run, clock
        self.summary = Summary()

    def process(self, raw: bytes, recipient: str | None = None, origin: str = "") -> Result:
        """Handle one message received for ``recipient`` (None: read it from the headers).

        :param origin: where it came from, for the log (a file name, "smtp")
        :raises sqlalchemy.exc.SQLAlchemyError: when the database fails; nothing was recorded
            (a message that cannot be read is not an error: its outcome is UNPARSABLE)
        """
        try:
            decision = decide(read_message(raw, recipient, self.domains), self.signer, self.domains)
        except Exception as exc:  # pure code: whatever fails here is about this message's content
            result = self._unparsable(raw, exc)
        else:
            result = Result(self._record(decision), _describe(decision))
        self.summary.add(result.outcome)
        level = logging.WARNING if result.outcome is Outcome.UNPARSABLE else logging.INFO
        log.log(level, "%s %s: %s", origin or "message", result.outcome, result.detail)
        return result

    def _record(self, decision: Decision) -> Outcome:
        if isinstance(decision, Ignore) or self.dry_run:
            return intended(decision)
        with self.sessions.begin() as session:
            return apply(session, decision, self.policy, self.clock())

    def _unparsable(self, raw: bytes, exc: Exception) -> Result:
        if not isinstance(exc, BounceError):  # a bug of ours (or a library's): show where
            log.error("could not classify a message", exc_info=exc)
        return Result(Outcome.UNPARSABLE, f"{exc} {self._keep(raw)}".strip())

    def _keep(self, raw: bytes) -> str:
        if self.quarantine is None:
            return ""
        path = self.quarantine.keep(raw)
        if path is None:
            folder, quota = self.quarantine.path, self.quarantine.quota
            log.warning(
                "quarantine %s is full (%d messages or %d MB): an unreadable message was dropped",
                folder,
                quota.messages,
                quota.megabytes,
            )
            return "(not kept: the quarantine is full)"
        return f"(kept as {path})"


def _describe(decision: Decision) -> str:
    if isinstance(decision, Ignore):
        return decision.reason
    if isinstance(decision, Bounce):
        failure = decision.failure
        return f"delivery {decision.delivery_id}: {failure.status or '-'} {failure.address}"
    if isinstance(decision, Notify):
        said = ", ".join(f"{n.action} {n.status or '-'} {n.address}" for n in decision.notices)
        return f"delivery {decision.delivery_id}: {said}"
    target = decision.target
    if isinstance(target, DeliveryRef):
        return f"delivery {target.delivery_id}"
    return f"subscriber {target.subscriber_id} on list {target.list_id}"
