"""What became of each returned message, and the tally a command or server prints."""

from __future__ import annotations

import enum
import threading
from collections import Counter


class Outcome(enum.StrEnum):
    """The fate of one message for one of our addresses."""

    HARD = "hard"  # hard bounce recorded: subscriptions bounced, address suppressed
    SOFT = "soft"  # soft bounce recorded and counted
    NOTICE = "notice"  # delay (or delivery) notice recorded: nothing else changes
    COMPLAINT = "complaint"  # spam complaint recorded: unsubscribed and suppressed
    UNSUBSCRIBE = "unsubscribe"  # mail to the unsubscribe address: unsubscribed
    DUPLICATE = "duplicate"  # already recorded for this delivery (or already unsubscribed)
    AUTO_REPLY = "auto_reply"  # vacation message and the like: ignored
    FORGED = "forged"  # our prefix with a token that does not verify: ignored
    UNMATCHED = "unmatched"  # a bounce or complaint that names no delivery of ours: reported only
    UNKNOWN = "unknown"  # not a bounce, complaint or auto-reply
    UNPARSABLE = "unparsable"  # could not be read at all: accepted, logged, kept if asked


ACTED_ON = frozenset({Outcome.HARD, Outcome.SOFT, Outcome.COMPLAINT, Outcome.UNSUBSCRIBE})

_LABELS = {
    Outcome.HARD: "hard bounces",
    Outcome.SOFT: "soft bounces",
    Outcome.NOTICE: "delay notices (recorded, nothing changed)",
    Outcome.COMPLAINT: "complaints",
    Outcome.UNSUBSCRIBE: "unsubscribes",
    Outcome.DUPLICATE: "duplicates (already recorded)",
    Outcome.AUTO_REPLY: "auto-replies (ignored)",
    Outcome.FORGED: "forged (ignored)",
    Outcome.UNMATCHED: "unmatched (no valid VERP address, not acted on)",
    Outcome.UNKNOWN: "unknown",
    Outcome.UNPARSABLE: "unparsable",
}


class Summary:
    """Counts per outcome; safe to add to from the server's worker thread while read."""

    def __init__(self) -> None:
        self._counts: Counter[Outcome] = Counter()
        self._lock = threading.Lock()

    def add(self, outcome: Outcome) -> None:
        with self._lock:
            self._counts[outcome] += 1

    def counts(self) -> dict[Outcome, int]:
        """Every outcome with its count, zeros included, in a fixed order."""
        with self._lock:
            return {outcome: self._counts[outcome] for outcome in Outcome}

    @property
    def total(self) -> int:
        with self._lock:
            return sum(self._counts.values())

    def lines(self) -> list[str]:
        """The summary as lines of text, one per outcome."""
        width = max(len(label) for label in _LABELS.values())
        rows = [f"{_LABELS[o]:<{width}}  {n:>6}" for o, n in self.counts().items()]
        return [*rows, f"{'total':<{width}}  {self.total:>6}"]
