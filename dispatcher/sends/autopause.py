"""Automatic pause: when too many of a batch's last outcomes failed, stop and let people look.

The decision is pure: :class:`FailureWindow` keeps a batch's last N outcomes
and says why the send should stop; the batch loop in :mod:`dispatcher.sends.batch`
feeds it and, when it speaks, pauses the send with
:func:`dispatcher.sends.control.auto_pause` (the reason is stored in
``Send.state_reason`` and shown on the console and by ``dispatcher status``).

The window is per batch, so it needs batches of at least N rows (the default
batch is 500, N is 200).
"""

from __future__ import annotations

from collections import Counter, deque
from collections.abc import Sequence
from dataclasses import dataclass

from dispatcher.config import SendingSettings

AUTO_PAUSE_WINDOW = 200  # outcomes looked at (0: off); settings default
AUTO_PAUSE_RATIO = 0.20  # share of them not delivered that pauses the send


@dataclass(frozen=True)
class AutoPausePolicy:
    window: int = AUTO_PAUSE_WINDOW  # 0 turns automatic pausing off
    ratio: float = AUTO_PAUSE_RATIO


def policy_of(sending: SendingSettings) -> AutoPausePolicy:
    """The policy from the settings (AUTO_PAUSE_WINDOW, AUTO_PAUSE_RATIO)."""
    return AutoPausePolicy(sending.auto_pause_window, sending.auto_pause_ratio)


def pause_reason(outcomes: Sequence[tuple[str, int | None]], ratio: float) -> str | None:
    """Why a send should stop, given its last outcomes as (status, SMTP code); None if not.

    Anything but ``sent`` counts against the send: a wave of 4xx (a provider
    throttling us) is as much a reason to stop and look as a wave of 5xx.
    """
    bad = [code for status, code in outcomes if status != "sent"]
    if not outcomes or len(bad) / len(outcomes) < ratio:
        return None
    code, _ = Counter(bad).most_common(1)[0]
    return (
        f"paused automatically: {len(bad)} of the last {len(outcomes)} messages were not "
        f"delivered ({len(bad) / len(outcomes):.0%}); most common reply code {code or 'none'}"
    )


class FailureWindow:
    """The last ``policy.window`` outcomes of one batch, with a running count of failures.

    Adding an outcome is O(1); the reason is only built when the threshold is passed.
    """

    def __init__(self, policy: AutoPausePolicy) -> None:
        self._policy = policy
        self._recent: deque[tuple[str, int | None]] = deque(maxlen=max(policy.window, 1))
        self._bad = 0

    def add(self, status: str, code: int | None) -> str | None:
        """Record one outcome; :returns: the pause reason once the window is full and bad"""
        if self._policy.window <= 0:
            return None
        if len(self._recent) == self._recent.maxlen and self._recent[0][0] != "sent":
            self._bad -= 1
        self._recent.append((status, code))
        self._bad += status != "sent"
        full = len(self._recent) == self._policy.window
        if not full or self._bad / self._policy.window < self._policy.ratio:
            return None
        return pause_reason(list(self._recent), self._policy.ratio)
