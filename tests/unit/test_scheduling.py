"""Weekly slots and local times: 10:00 in Rome stays 10:00 when summer time starts or ends.

Europe/Rome is UTC+1 in winter (CET) and UTC+2 in summer (CEST); in 2025 summer
time starts on Sunday 30 March and ends on Sunday 26 October. So a Friday 10:00
slot is 09:00 UTC in winter and 08:00 UTC in summer.
"""

from __future__ import annotations

import datetime as dt

import pytest

from dispatcher.config import Settings
from dispatcher.office.scheduling import (
    approval_required,
    local_to_utc,
    next_occurrence,
    parse_clock,
    parse_local,
    parse_weekday,
    proposed_time,
    to_local,
)
from subscribers.models import MailingList

FRIDAY = 4
TEN = dt.time(10, 0)
ROME = "Europe/Rome"


def utc(year: int, month: int, day: int, hour: int = 0, minute: int = 0) -> dt.datetime:
    return dt.datetime(year, month, day, hour, minute, tzinfo=dt.UTC)


@pytest.mark.parametrize(
    ("after", "expected"),
    [
        # The Friday before summer time starts: winter, 09:00 UTC.
        (utc(2025, 3, 24, 12, 0), utc(2025, 3, 28, 9, 0)),
        # From that slot itself, the next is a week later, after the change: 08:00 UTC.
        (utc(2025, 3, 28, 9, 0), utc(2025, 4, 4, 8, 0)),
        # On the Sunday of the change, in the hour that does not exist.
        (utc(2025, 3, 30, 1, 30), utc(2025, 4, 4, 8, 0)),
        # The Friday before summer time ends: still summer, 08:00 UTC, the same day.
        (utc(2025, 10, 24, 7, 59), utc(2025, 10, 24, 8, 0)),
        # Just after it: a week later, after the change back, 09:00 UTC.
        (utc(2025, 10, 24, 8, 0), utc(2025, 10, 31, 9, 0)),
        # A Friday evening in Rome that is still Friday in UTC: the next Friday.
        (utc(2025, 1, 10, 22, 30), utc(2025, 1, 17, 9, 0)),
    ],
)
def test_a_friday_ten_oclock_slot_keeps_its_local_time(
    after: dt.datetime, expected: dt.datetime
) -> None:
    found = next_occurrence(FRIDAY, TEN, ROME, after)
    assert found == expected
    assert to_local(found, ROME).strftime("%a %H:%M") == "Fri 10:00"


def test_every_friday_of_a_year_is_ten_oclock_in_rome() -> None:
    when = utc(2025, 1, 1)
    offsets = set()
    for _ in range(52):
        when = next_occurrence(FRIDAY, TEN, ROME, when)
        local = to_local(when, ROME)
        assert (local.weekday(), local.hour, local.minute) == (FRIDAY, 10, 0)
        offsets.add(when.hour)
    assert offsets == {8, 9}  # summer and winter


def test_a_time_skipped_or_repeated_by_the_change_is_read_the_zoneinfo_way() -> None:
    # 02:30 does not exist on 30 March 2025: read with the winter offset, it is 03:30 CEST.
    skipped = local_to_utc(dt.date(2025, 3, 30), dt.time(2, 30), ROME)
    assert skipped == utc(2025, 3, 30, 1, 30)
    assert to_local(skipped, ROME).strftime("%H:%M %Z") == "03:30 CEST"
    # 02:30 happens twice on 26 October 2025: the first one, still in summer time.
    repeated = local_to_utc(dt.date(2025, 10, 26), dt.time(2, 30), ROME)
    assert repeated == utc(2025, 10, 26, 0, 30)


def test_a_slot_in_another_zone_follows_that_zone() -> None:
    # New York changes on other dates (9 March 2025): 10:00 there is 14:00 UTC then.
    assert next_occurrence(FRIDAY, TEN, "America/New_York", utc(2025, 3, 10)) == utc(
        2025, 3, 14, 14, 0
    )


def test_local_times_are_parsed_in_rome_as_typed_or_from_the_browser() -> None:
    assert parse_local("2025-07-04 10:00") == utc(2025, 7, 4, 8, 0)
    assert parse_local("2025-12-05T10:00") == utc(2025, 12, 5, 9, 0)
    with pytest.raises(ValueError, match="YYYY-MM-DD HH:MM"):
        parse_local("5/12/2025 10:00")
    with pytest.raises(ValueError, match="unknown time zone"):
        parse_local("2025-12-05 10:00", "Europe/Atlantis")


def test_weekdays_and_clock_times_are_read_in_several_spellings() -> None:
    assert [parse_weekday(w) for w in ("fri", "Friday", "FRI", "4", "mon", "sun")] == [
        4,
        4,
        4,
        4,
        0,
        6,
    ]
    assert parse_clock("09:05") == dt.time(9, 5)
    for wrong in ("fr", "7", "venerdì"):
        with pytest.raises(ValueError, match="not a weekday"):
            parse_weekday(wrong)
    with pytest.raises(ValueError, match="HH:MM"):
        parse_clock("25:00")


def test_a_newsletter_without_a_slot_proposes_nothing() -> None:
    weekly = MailingList(weekly_weekday=FRIDAY, weekly_time="10:00", timezone=ROME)
    assert proposed_time(weekly, utc(2025, 7, 1)) == utc(2025, 7, 4, 8, 0)
    assert proposed_time(MailingList(timezone=ROME), utc(2025, 7, 1)) is None


def test_a_stored_time_without_a_zone_is_utc() -> None:
    assert to_local(dt.datetime(2025, 7, 4, 8, 0), ROME).strftime("%H:%M") == "10:00"


def test_approval_is_required_except_in_the_demo() -> None:
    assert approval_required(Settings(secret_keys=("k",)))
    assert not approval_required(Settings(demo=True))
