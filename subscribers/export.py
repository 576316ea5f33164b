"""CSV export of a list, for the office's spreadsheets, in a form the importer reads back.

UTF-8 with a BOM, so that Excel opens accented names right; ``;`` by default
(Italian Excel splits on it), ``,`` on request. A cell that starts like a formula
(``=``, ``+``, ``-``, ``@``) gets a leading apostrophe, so that a name typed into a
web form cannot run as a formula on the office's computer; the importer removes it.
"""

from __future__ import annotations

import csv
import datetime as dt
from collections.abc import Iterator
from typing import TextIO

from sqlalchemy import Select, select
from sqlalchemy.orm import Session

from subscribers.csvfile import guard_cell
from subscribers.errors import InputError
from subscribers.models import Subscriber, Subscription
from subscribers.orm import SubscriptionStatus
from subscribers.service import get_list

COLUMNS = ("email", "name", "language", "status", "source", "consented_at", "confirmed_at")
BOM = "\ufeff"
_Rows = Select[str, str, str, str, str, dt.datetime, dt.datetime | None]
FETCH = 5000  # rows read from the database at a time


#: The delimiters an export may use, by the name the command line gives them.
DELIMITERS = {"semicolon": ";", "comma": ",", "tab": "\t"}


def export_csv(
    session: Session,
    list_slug: str,
    out: TextIO,
    *,
    status: SubscriptionStatus | None = None,
    delimiter: str = ";",
) -> int:
    """Write a list's subscribers to ``out`` (opened with ``newline=""``), BOM first.

    Erased people are left out: nothing about them is left to export.

    :param status: only subscriptions in this state (default: all)
    :returns: the number of people written
    :raises UnknownListError: if the list does not exist
    :raises InputError: for a delimiter other than ``;``, ``,`` or a tab
    """
    if delimiter not in DELIMITERS.values():
        raise InputError(f"delimiter {delimiter!r}: use ';', ',' or a tab")
    query = _query(get_list(session, list_slug).id, status)
    out.write(BOM)
    writer = csv.writer(out, delimiter=delimiter, lineterminator="\r\n")
    writer.writerow(COLUMNS)
    count = 0
    for row in _rows(session, query):
        writer.writerow(row)
        count += 1
    return count


def _query(list_id: int, status: SubscriptionStatus | None) -> _Rows:
    query = (
        select(
            Subscriber.email,
            Subscriber.name,
            Subscriber.language,
            Subscription.status,
            Subscription.source,
            Subscription.consented_at,
            Subscription.confirmed_at,
        )  # fmt: skip
        .join(Subscription, Subscription.subscriber_id == Subscriber.id)
        .where(Subscription.list_id == list_id, Subscriber.erased_at.is_(None))
        .order_by(Subscriber.id)
    )
    return query if status is None else query.where(Subscription.status == status.value)


def _rows(session: Session, query: _Rows) -> Iterator[list[str]]:
    for row in session.execute(query.execution_options(yield_per=FETCH)):
        yield [_cell(value) for value in row]


def _cell(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, dt.datetime):
        # SQLite gives the stored UTC time back without its zone.
        aware = value if value.tzinfo else value.replace(tzinfo=dt.UTC)
        return aware.astimezone(dt.UTC).isoformat(timespec="seconds")
    return guard_cell(str(value))
