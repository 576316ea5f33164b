"""From a returned message and the address it came to, to what should be done.

Pure: it parses and classifies the bytes, finds which of our addresses the
message is for and checks the token's signature; the database is touched only
by :mod:`~dispatcher.bounces.apply`, with the decision made here.

Only a verified token leads to action. A bounce that reached us without one (a
DSN sent to the From address, a bounce of a bounce) names an address, but
addresses in bounces are often aliases, forwards or rewritten; acting on them
could unsubscribe the wrong person, so such bounces are reported as unmatched.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from email.message import Message

from dispatcher.bounces.classify import classify
from dispatcher.bounces.mailparts import addresses, header_values, parse_message
from dispatcher.bounces.outcome import Outcome
from dispatcher.bounces.verdict import Failure, Nature, RecipientStatus, Severity, Verdict
from dispatcher.bounces.verp import (
    AddressKind,
    DeliveryRef,
    OurAddress,
    SubscriptionRef,
    first_ours,
    shown,
    verify,
)
from subscribers.tokens import Signer

#: Where a stored message (mbox, Maildir) keeps its envelope recipient, most reliable first.
RECIPIENT_HEADERS = ("Delivered-To", "X-Original-To", "Envelope-To", "X-Envelope-To", "To", "Cc")


@dataclass(frozen=True)
class Incoming:
    """A returned message, classified, and the address of ours it was sent to (if any)."""

    verdict: Verdict
    addressed_to: OurAddress | None


@dataclass(frozen=True)
class Ignore:
    """Nothing to change: the outcome to count, and why (an auto-reply, no verified token)."""

    outcome: Outcome
    reason: str


@dataclass(frozen=True)
class Bounce:
    """A failure report about one delivery, named by its verified VERP token."""

    delivery_id: int
    failure: Failure
    parser: str  # the parser that read the report, e.g. "dsn"
    notices: tuple[RecipientStatus, ...] = ()  # other recipients of the same DSN, only delayed


@dataclass(frozen=True)
class Notify:
    """Record that a delivery was delayed (or relayed...): shown, changes nothing."""

    delivery_id: int
    notices: tuple[RecipientStatus, ...]
    parser: str


@dataclass(frozen=True)
class Complaint:
    """A spam complaint (a feedback report) about a delivery or a subscription."""

    target: DeliveryRef | SubscriptionRef
    reason: str


@dataclass(frozen=True)
class Unsubscribe:
    """A message to a subscription's tokened unsubscribe mailto."""

    target: SubscriptionRef


Decision = Ignore | Bounce | Notify | Complaint | Unsubscribe


def read_message(raw: bytes, recipient: str | None, domains: Collection[str] | None) -> Incoming:
    """Parse and classify a message received for ``recipient``.

    :param recipient: the envelope recipient; None for a stored message, whose
        recipient headers are searched instead
    :raises BounceError: when the bytes cannot be read as a message
    """
    msg = parse_message(raw)
    candidates = [recipient] if recipient else addresses(_recipient_headers(msg))
    return Incoming(classify(msg), first_ours(candidates, domains))


def decide(incoming: Incoming, signer: Signer, domains: Collection[str] | None) -> Decision:
    """What to do about a message: act on a verified delivery or subscription, or ignore it."""
    to, verdict = incoming.addressed_to, incoming.verdict
    if to is not None and to.kind is AddressKind.UNSUBSCRIBE:
        return _unsubscribe(to, signer)  # RFC 2369: any mail to it asks to leave
    if verdict.nature is Nature.AUTO_REPLY:
        return Ignore(Outcome.AUTO_REPLY, verdict.reason)
    if verdict.nature is Nature.OTHER:
        return Ignore(Outcome.UNKNOWN, verdict.reason)
    if verdict.nature is Nature.COMPLAINT:
        return _complaint(to or first_ours(verdict.candidates, domains), verdict, signer)
    if verdict.nature is Nature.NOTICE:
        return _notice(to, verdict, signer)
    return _bounce(to, verdict, signer)


def intended(decision: Decision) -> Outcome:
    """The outcome a decision leads to when nothing was recorded before (for dry runs)."""
    if isinstance(decision, Ignore):
        return decision.outcome
    if isinstance(decision, Bounce):
        hard = decision.failure.severity is Severity.HARD
        return Outcome.HARD if hard else Outcome.SOFT
    if isinstance(decision, Notify):
        return Outcome.NOTICE
    return Outcome.COMPLAINT if isinstance(decision, Complaint) else Outcome.UNSUBSCRIBE


def _unsubscribe(to: OurAddress, signer: Signer) -> Decision:
    ref = verify(to, signer)
    if not isinstance(ref, SubscriptionRef):
        return Ignore(Outcome.FORGED, f"unsubscribe token does not verify: {shown(to.address)}")
    return Unsubscribe(ref)


def _complaint(found: OurAddress | None, verdict: Verdict, signer: Signer) -> Decision:
    if found is None:
        return Ignore(Outcome.UNMATCHED, f"no address of ours in the report ({verdict.reason})")
    ref = verify(found, signer)
    if ref is None:
        return Ignore(Outcome.FORGED, f"token does not verify: {shown(found.address)}")
    return Complaint(ref, verdict.reason)


def _bounce(to: OurAddress | None, verdict: Verdict, signer: Signer) -> Decision:
    worst = verdict.worst
    named = ", ".join(f.address for f in verdict.failures)
    if to is None or worst is None:
        return Ignore(Outcome.UNMATCHED, f"bounce without a VERP address, for {named}")
    ref = verify(to, signer)
    if not isinstance(ref, DeliveryRef):
        return Ignore(Outcome.FORGED, f"VERP token does not verify: {shown(to.address)}")
    return Bounce(ref.delivery_id, worst, verdict.parser, verdict.notices)


def _notice(to: OurAddress | None, verdict: Verdict, signer: Signer) -> Decision:
    named = ", ".join(n.address for n in verdict.notices)
    if to is None:
        return Ignore(Outcome.UNMATCHED, f"{verdict.reason} notice without a VERP address: {named}")
    ref = verify(to, signer)
    if not isinstance(ref, DeliveryRef):
        return Ignore(Outcome.FORGED, f"VERP token does not verify: {shown(to.address)}")
    return Notify(ref.delivery_id, verdict.notices, verdict.parser)


def _recipient_headers(msg: Message) -> list[str]:
    return [v for name in RECIPIENT_HEADERS for v in header_values(msg, name)]
