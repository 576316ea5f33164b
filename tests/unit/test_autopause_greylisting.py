"""Which outcomes count against a send for the automatic pause (issue 12, item 2).

A 4xx that will be retried is not a failure: greylisting relays answer 451 to a
first attempt and take the message minutes later. Permanent refusals, replies
that never came and 4xx that persist are failures.
"""

from __future__ import annotations

import random

import pytest

from dispatcher.sends.autopause import (
    PERSISTENT_FROM_ATTEMPT,
    AutoPausePolicy,
    FailureWindow,
    counts_as_failure,
)


@pytest.mark.parametrize(
    ("status", "code", "attempt", "counted"),
    [
        ("sent", 250, 1, False),
        ("skipped", 250, 1, False),  # written to an outbox that is not the production one
        ("deferred", 451, 1, None),  # greylisted: retried
        ("deferred", 452, PERSISTENT_FROM_ATTEMPT - 1, None),
        ("deferred", 451, PERSISTENT_FROM_ATTEMPT, True),  # still 4xx: the relay means it
        ("deferred", None, 1, True),  # the connection was lost: no reply at all
        ("failed", 451, 3, True),  # the retry window expired
        ("failed", 550, 1, True),
        ("uncertain", None, 1, True),
    ],
)
def test_what_counts_as_a_failure(
    status: str, code: int | None, attempt: int, counted: bool | None
) -> None:
    assert counts_as_failure(status, code, attempt) is counted


def test_greylisted_first_attempts_side_by_side_never_fill_the_window() -> None:
    window = FailureWindow(AutoPausePolicy(window=10, ratio=0.2))
    outcomes = [("deferred", 451)] * 50 + [("sent", 250)] * 10 + [("deferred", 451)] * 50
    assert all(window.add(status, code, 1) is None for status, code in outcomes)


def test_greylisting_at_random_never_pauses_but_refusals_among_it_still_do() -> None:
    rng = random.Random()
    window = FailureWindow(AutoPausePolicy(window=20, ratio=0.2))
    for _ in range(5000):
        grey = rng.random() < 0.3
        assert window.add("deferred" if grey else "sent", 451 if grey else 250, 1) is None
    reasons = [window.add("failed", 554, 1) for _ in range(4)]
    assert reasons[:3] == [None] * 3 and reasons[3] is not None
    assert "4 of the last 20" in reasons[3] and "554" in reasons[3]
