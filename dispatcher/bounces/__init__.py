"""Bounces, complaints and mailto unsubscribes: what comes back, read and recorded.

Pure modules read messages: :mod:`.verp` (our signed return addresses),
:mod:`.dsn` (RFC 3464), :mod:`.arf` (RFC 5965), :mod:`.autoreply` (RFC 3834 and
out-of-office habits), :mod:`.classify` (all of them, with flufl.bounce as the
fallback) and :mod:`.decide`. :mod:`.apply` and :mod:`.subscriptions` change the
database; :mod:`.intake`, :mod:`.sources` and :mod:`.server` are the edges.
"""

from __future__ import annotations

from dispatcher.bounces.apply import Policy, apply, bounce_domains
from dispatcher.bounces.classify import classify
from dispatcher.bounces.decide import Decision, Incoming, decide, read_message
from dispatcher.bounces.intake import BounceProcessor, Result
from dispatcher.bounces.outcome import Outcome, Summary
from dispatcher.bounces.verdict import Failure, Nature, Severity, Verdict

__all__ = [
    "BounceProcessor",
    "Decision",
    "Failure",
    "Incoming",
    "Nature",
    "Outcome",
    "Policy",
    "Result",
    "Severity",
    "Summary",
    "Verdict",
    "apply",
    "bounce_domains",
    "classify",
    "decide",
    "read_message",
]
