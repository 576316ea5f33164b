"""Automatic pause: when too many of a batch's last outcomes failed, stop and let people look.

The decision is pure: :class:`FailureWindow` keeps a batch's last N outcomes
and says why the send should stop; the batch loop in :mod:`dispatcher.sends.batch`
feeds it and, when it speaks, pauses the send with
:func:`dispatcher.sends.control.auto_pause` (the reason is stored in
``Send.state_reason`` and shown on the console and by ``dispatcher status``).

The window is per batch, so it needs batches of at least N rows (the default
batch is 500, N is 200).

What counts as a failure (:func:`counts_as_failure`): a permanent refusal (5xx),
a reply that never came (a connection lost, a timeout: no code), and a 4xx that
persists: the row's retry window expired (``failed``) or the relay still says 4xx
at the row's :data:`PERSISTENT_FROM_ATTEMPT`-th attempt. A 4xx on a row's earlier
attempts is left out of the window altogether: a relay that greylists (answers 451
to the first attempt from an unknown sender, as many public-sector relays do) takes
the message a few minutes later, and one recipient in ten greylisted must not look
like a broken relay, however they fall in the batch.
"""

from __future__ import annotations

from collections import Counter, deque
from collections.abc import Sequence
from dataclasses import dataclass

from dispatcher.config import SendingSettings

AUTO_PAUSE_WINDOW = 200  # outcomes looked at (0: off); settings default
AUTO_PAUSE_RATIO = 0.20  # share of them not delivered that pauses the send
#: From this attempt on a 4xx counts as a failure. With the default backoff (RETRY_BASE
#: 60 s, doubling) the fifth attempt comes 15 minutes after the first: longer than
#: greylisting delays (postgrey waits 5 minutes), so a 4xx then is the relay's answer.
PERSISTENT_FROM_ATTEMPT = 5


@dataclass(frozen=True)
class AutoPausePolicy:
    window: int = AUTO_PAUSE_WINDOW  # 0 turns automatic pausing off
    ratio: float = AUTO_PAUSE_RATIO


def policy_of(sending: SendingSettings) -> AutoPausePolicy:
    """The policy from the settings (AUTO_PAUSE_WINDOW, AUTO_PAUSE_RATIO)."""
    return AutoPausePolicy(sending.auto_pause_window, sending.auto_pause_ratio)


def counts_as_failure(status: str, code: int | None, attempt: int) -> bool | None:
    """Whether one outcome counts against the send: True, False, or None (not yet known).

    :param status: the row's new status
    :param code: the SMTP reply code (None: no reply at all)
    :param attempt: which attempt this was for the row (1 for the first)
    :returns: None for a 4xx that will be retried (greylisting, a full mailbox):
        it is neither a delivery nor a failure until it persists
    """
    if status in ("sent", "skipped"):
        return False
    if status == "deferred" and code is not None and attempt < PERSISTENT_FROM_ATTEMPT:
        return None
    return True


def pause_reason(outcomes: Sequence[tuple[str, int | None]], ratio: float) -> str | None:
    """Why a send should stop, given its last counted outcomes as (status, SMTP code); None if not.

    Every outcome given counts against the send unless it is ``sent`` or ``skipped``;
    the caller leaves out what :func:`counts_as_failure` does not count.
    """
    bad = [code for status, code in outcomes if status not in _GOOD]
    if not outcomes or len(bad) / len(outcomes) < ratio:
        return None
    code, _ = Counter(bad).most_common(1)[0]
    return (
        f"paused automatically: {len(bad)} of the last {len(outcomes)} messages were not "
        f"delivered ({len(bad) / len(outcomes):.0%}); most common reply code {code or 'none'}"
    )


_GOOD = ("sent", "skipped")


class FailureWindow:
    """The last ``policy.window`` counted outcomes of one batch, with a running count of failures.

    Adding an outcome is O(1); the reason is only built when the threshold is passed.
    """

    def __init__(self, policy: AutoPausePolicy) -> None:
        self._policy = policy
        self._recent: deque[tuple[str, int | None]] = deque(maxlen=max(policy.window, 1))
        self._bad = 0

    def add(self, status: str, code: int | None, attempt: int = 1) -> str | None:
        """Record one outcome of a row's ``attempt``-th attempt.

        :returns: the pause reason once the window is full and bad
        """
        if self._policy.window <= 0:
            return None
        failed = counts_as_failure(status, code, attempt)
        if failed is None:
            return None
        if len(self._recent) == self._recent.maxlen and self._recent[0][0] not in _GOOD:
            self._bad -= 1
        self._recent.append((status, code))
        self._bad += failed
        full = len(self._recent) == self._policy.window
        if not full or self._bad / self._policy.window < self._policy.ratio:
            return None
        return pause_reason(list(self._recent), self._policy.ratio)
