"""Days and hours on which the office does not send: plain values, no I/O.

The Italian national holidays are computed (Easter Monday moves with Easter, so no
table can list them for good); local ones (a city's patron saint: Turin's San
Giovanni on 24 June) come from ``LOCAL_HOLIDAYS``; the sending hours from
``SENDING_HOURS``. :mod:`dispatcher.office.calendar` applies them together with
the blocks the office enters.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass

from dispatcher.errors import ConfigurationError

#: The fixed national holidays (month, day) and their Italian names: law 260/1949 and
#: its amendments (2 June since 2001).
FIXED_HOLIDAYS = {
    (1, 1): "Capodanno",
    (1, 6): "Epifania",
    (4, 25): "Festa della Liberazione",
    (5, 1): "Festa del Lavoro",
    (6, 2): "Festa della Repubblica",
    (8, 15): "Ferragosto",
    (11, 1): "Ognissanti",
    (12, 8): "Immacolata Concezione",
    (12, 25): "Natale",
    (12, 26): "Santo Stefano",
}
EASTER_MONDAY = "Lunedì dell'Angelo (Pasquetta)"
LOCAL_HOLIDAY = "festività locale"
_DAY = re.compile(r"(\d{2})-(\d{2})")
_HOURS = re.compile(r"(\d{2}):(\d{2})-(\d{2}):(\d{2})")


def easter_sunday(year: int) -> dt.date:
    """Easter Sunday of the Gregorian calendar (the anonymous algorithm of 1876)."""
    a, b, c = year % 19, year // 100, year % 100
    d, e = divmod(b, 4)
    g = (8 * b + 13) // 25
    h = (19 * a + b - d - g + 15) % 30
    i, k = divmod(c, 4)
    weekday_shift = (32 + 2 * e + 2 * i - h - k) % 7
    m = (a + 11 * h + 19 * weekday_shift) // 433
    month = (h + weekday_shift - 7 * m + 90) // 25
    day = (h + weekday_shift - 7 * m + 33 * month + 19) % 32
    return dt.date(year, month, day)


def easter_monday(year: int) -> dt.date:
    return easter_sunday(year) + dt.timedelta(days=1)


@dataclass(frozen=True)
class SendingDays:
    """Which days are holidays and which hours a send may start in (local time)."""

    national: bool = True
    local: tuple[tuple[int, int], ...] = ()  # (month, day)
    opens: dt.time = dt.time(0, 0)
    closes: dt.time | None = None  # None: until midnight

    def holiday(self, day: dt.date) -> str | None:
        """The holiday's name if ``day`` is one, else None."""
        if (day.month, day.day) in self.local:
            return LOCAL_HOLIDAY
        if not self.national:
            return None
        if day == easter_monday(day.year):
            return EASTER_MONDAY
        return FIXED_HOLIDAYS.get((day.month, day.day))

    def in_hours(self, at: dt.time) -> bool:
        """Whether a send may start at local time ``at``."""
        return self.opens <= at and (self.closes is None or at < self.closes)

    @property
    def hours_text(self) -> str:
        closes = f"{self.closes:%H:%M}" if self.closes else "24:00"
        return f"{self.opens:%H:%M}-{closes}"


def parse_local_holidays(text: str, name: str = "LOCAL_HOLIDAYS") -> tuple[tuple[int, int], ...]:
    """``MM-DD`` days separated by commas (``06-24``), as (month, day) pairs.

    :raises ConfigurationError: naming the setting and the day that cannot be read
    """
    days = []
    for part in (p.strip() for p in text.split(",")):
        if not part:
            continue
        found = _DAY.fullmatch(part)
        try:
            if found is None:
                raise ValueError(part)
            dt.date(2000, int(found[1]), int(found[2]))  # a leap year: 02-29 is a day
        except ValueError as exc:
            raise ConfigurationError(f"{name}: {part!r} is not a day (MM-DD, e.g. 06-24)") from exc
        days.append((int(found[1]), int(found[2])))
    return tuple(days)


def parse_hours(text: str, name: str = "SENDING_HOURS") -> tuple[dt.time, dt.time | None]:
    """``HH:MM-HH:MM`` (``08:00-20:00``; ``24:00`` is midnight; empty: all day).

    :raises ConfigurationError: if it cannot be read or the range is empty
    """
    if not text.strip():
        return dt.time(0, 0), None
    found = _HOURS.fullmatch(text.strip())
    problem = ConfigurationError(f"{name}={text!r} is not a range of hours (e.g. 08:00-20:00)")
    if found is None:
        raise problem
    start_h, start_m, end_h, end_m = (int(g) for g in found.groups())
    try:
        opens = dt.time(start_h, start_m)
        closes = None if (end_h, end_m) == (24, 0) else dt.time(end_h, end_m)
    except ValueError as exc:
        raise problem from exc
    if closes is not None and closes <= opens:
        raise problem
    return opens, closes
