"""The sending calendar's days and hours: computed holidays, local ones, hours, slots."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import pytest

from dispatcher.errors import ConfigurationError
from dispatcher.models import CalendarBlock
from dispatcher.office.calendar import Calendar
from dispatcher.office.holidays import (
    SendingDays,
    easter_monday,
    parse_hours,
    parse_local_holidays,
)
from dispatcher.office.scheduling import proposed_time
from subscribers.models import MailingList

ROME = ZoneInfo("Europe/Rome")
OFFICE = SendingDays(True, ((6, 24),), dt.time(8, 0), dt.time(20, 0))


def rome(*parts: int) -> dt.datetime:
    return dt.datetime(*parts, tzinfo=ROME).astimezone(dt.UTC)  # type: ignore[misc]


@pytest.mark.parametrize(
    ("year", "monday"),
    [
        (2000, dt.date(2000, 4, 24)),
        (2008, dt.date(2008, 3, 24)),  # an early Easter
        (2011, dt.date(2011, 4, 25)),  # the latest Easter: Easter Monday on Liberation Day
        (2019, dt.date(2019, 4, 22)),
        (2024, dt.date(2024, 4, 1)),
        (2025, dt.date(2025, 4, 21)),
        (2026, dt.date(2026, 4, 6)),
        (2027, dt.date(2027, 3, 29)),
        (2038, dt.date(2038, 4, 26)),
    ],
)
def test_easter_monday_is_computed(year: int, monday: dt.date) -> None:
    assert easter_monday(year) == monday
    assert OFFICE.holiday(monday) is not None


def test_the_national_and_local_holidays_are_non_sending_days() -> None:
    fixed = ["01-01", "01-06", "04-25", "05-01", "06-02", "08-15", "11-01", "12-08", "12-25"]
    for day in [*fixed, "12-26"]:
        month, number = (int(p) for p in day.split("-"))
        assert OFFICE.holiday(dt.date(2026, month, number)) is not None, day
    assert OFFICE.holiday(dt.date(2026, 6, 24)) == "festività locale"  # Turin's San Giovanni
    assert OFFICE.holiday(dt.date(2026, 6, 23)) is None
    assert OFFICE.holiday(dt.date(2026, 4, 7)) is None  # the day after Easter Monday
    national_off = SendingDays(False, ((6, 24),))
    assert national_off.holiday(dt.date(2026, 12, 25)) is None
    assert national_off.holiday(dt.date(2026, 6, 24)) is not None


def test_settings_are_read_or_refused_by_name() -> None:
    assert parse_local_holidays("06-24, 12-07") == ((6, 24), (12, 7))
    assert parse_hours("08:00-20:00") == (dt.time(8), dt.time(20))
    assert parse_hours("00:00-24:00") == (dt.time(0), None) == parse_hours("")
    for wrong in ("8-20", "20:00-08:00", "08:00-25:00"):
        with pytest.raises(ConfigurationError, match="SENDING_HOURS"):
            parse_hours(wrong)
    with pytest.raises(ConfigurationError, match="LOCAL_HOLIDAYS"):
        parse_local_holidays("24-06")


def test_out_of_hours_is_refused_until_the_next_opening() -> None:
    calendar = Calendar([], OFFICE)
    evening = rome(2026, 3, 10, 21, 30)
    refused = calendar.refusal(evening)
    assert refused is not None and refused.kind == "hours"
    assert calendar.next_allowed(evening) == rome(2026, 3, 11, 8, 0)
    assert calendar.next_allowed(rome(2026, 3, 11, 6, 0)) == rome(2026, 3, 11, 8, 0)
    assert calendar.refusal(rome(2026, 3, 11, 19, 59)) is None


def test_a_block_is_refused_with_its_reason_unless_overridden() -> None:
    block = CalendarBlock(
        id=7, starts_at=rome(2026, 5, 4, 0, 0), ends_at=rome(2026, 5, 25, 15, 0), reason="Elezioni"
    )
    calendar = Calendar([block], OFFICE)
    refused = calendar.refusal(rome(2026, 5, 12, 10, 0))
    assert refused is not None and "Elezioni" in str(refused) and refused.block_id == 7
    assert calendar.refusal(rome(2026, 5, 12, 10, 0), overridden=True) is None
    assert calendar.next_allowed(rome(2026, 5, 12, 10, 0)) == rome(2026, 5, 25, 15, 0)


def test_the_weekly_slot_skips_a_holiday_to_the_next_allowed_day() -> None:
    monday_slot = MailingList(timezone="Europe/Rome", weekly_weekday=0, weekly_time="10:00")
    before_easter = rome(2027, 3, 26, 12, 0)  # Friday; Easter Monday 2027 is 29 March

    assert proposed_time(monday_slot, before_easter) == rome(2027, 3, 29, 10, 0)
    allows = Calendar([], OFFICE).allows
    assert proposed_time(monday_slot, before_easter, allows) == rome(2027, 3, 30, 10, 0)
