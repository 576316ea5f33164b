"""CSV import of subscribers into a list, set-based: a few statements per chunk of rows.

The file is read by :mod:`subscribers.csvfile`; here each record becomes a person
(validated address, name, language, sections) and every line gets an outcome:
imported (a new subscription), updated (already on the list, or details changed)
or skipped, with the reason. Nobody who left the list, bounced from it or is on
the suppression list is subscribed again by an import: only their own new
consent (the web sign-up) can do that.
"""

from __future__ import annotations

import datetime as dt
import enum
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sqlalchemy.orm import Session

from subscribers import upsert
from subscribers.addresses import address_key, normalise
from subscribers.attributes import SECTIONS, normalise_language, parse_sections, with_sections
from subscribers.csvfile import CsvFile, Field, Record, read_csv, unguard_cell
from subscribers.errors import InvalidAddressError
from subscribers.orm import SubscriptionStatus, utcnow
from subscribers.service import get_list
from subscribers.suppression import suppressed_among

CHUNK = 4000  # rows per round of statements: well under both databases' parameter limits
NAME_LENGTH = 200  # the subscribers.name column
DEFAULT_LANGUAGE = "it"
ProgressHook = Callable[[int], None]


class SkipReason(enum.StrEnum):
    """Why a line of the file subscribed nobody."""

    NO_ADDRESS = "no address"
    INVALID = "invalid address"
    DUPLICATE = "duplicate"
    UNSUBSCRIBED = "unsubscribed"
    BOUNCED = "bounced"
    SUPPRESSED = "suppressed"


@dataclass(frozen=True)
class LineNote:
    """Something about one line of the file: why it was skipped, or what was not taken."""

    line: int
    reason: str
    detail: str

    def __str__(self) -> str:
        return f"line {self.line}: {self.reason}: {self.detail}"


@dataclass
class ImportReport:
    """What an import did to each line of the file (lines numbered as in an editor)."""

    path: Path
    encoding: str = ""
    delimiter: str = ""
    columns: dict[str, str] = field(default_factory=dict)  # field -> header cell
    ignored_columns: tuple[str, ...] = ()
    imported: list[int] = field(default_factory=list)  # lines that made a new subscription
    updated: list[int] = field(default_factory=list)  # already on the list, or details changed
    skipped: list[LineNote] = field(default_factory=list)
    notes: list[LineNote] = field(default_factory=list)  # imported, but a value was not used

    @property
    def valid_rows(self) -> int:
        return len(self.imported) + len(self.updated)


@dataclass
class Person:
    """One person as a line of the file gives them, validated."""

    line: int
    email: str
    name: str
    language: str | None
    sections: list[str] | None
    key: str = ""

    def __post_init__(self) -> None:
        self.key = address_key(self.email)


def import_csv(
    session: Session,
    path: Path,
    list_slug: str,
    *,
    keys: Sequence[str],
    confirmed: bool = False,
    progress: ProgressHook | None = None,
) -> ImportReport:
    """Subscribe the people in a CSV file to a list.

    :param keys: the secret keys, current first (the suppression list is keyed with them)
    :param confirmed: the office vouches that they consented: subscribe them confirmed
        (and confirm those already pending); otherwise they are pending
    :raises ImportFileError: if the file cannot be read, is not CSV or has no email column
    :raises UnknownListError: if the list does not exist
    """
    return import_records(
        session, read_csv(path), list_slug, keys=keys, confirmed=confirmed, progress=progress
    )


def import_records(
    session: Session,
    source: CsvFile,
    list_slug: str,
    *,
    keys: Sequence[str],
    confirmed: bool = False,
    progress: ProgressHook | None = None,
) -> ImportReport:
    """Like :func:`import_csv`, for a file already read."""
    report = new_report(source)
    people = collect_people(source.records, report)
    store_people(
        session, people, list_slug, report, keys=keys, confirmed=confirmed, progress=progress
    )
    return report


def new_report(source: CsvFile) -> ImportReport:
    """An empty report for a file: how it was read, nothing done yet."""
    columns = {str(found): header for found, header in source.columns.items()}
    return ImportReport(source.path, source.encoding, source.delimiter, columns, source.ignored)


def collect_people(records: list[Record], report: ImportReport) -> list[Person]:
    """The valid people of a file, one per address; the lines left out go to ``report``.

    A later line with an address seen before is skipped as a duplicate, and fills
    the blanks (name, language) of the first.
    """
    first: dict[str, Person] = {}
    for record in records:
        person = _person(record, report)
        if person is None:
            continue
        earlier = first.setdefault(person.key, person)
        if earlier is not person:
            _merge(earlier, person)
            report.skipped.append(
                LineNote(record.line, SkipReason.DUPLICATE, f"same address as line {earlier.line}")
            )
    return list(first.values())


def store_people(
    session: Session,
    people: list[Person],
    list_slug: str,
    report: ImportReport,
    *,
    keys: Sequence[str],
    confirmed: bool = False,
    progress: ProgressHook | None = None,
) -> None:
    """Subscribe people to a list, a chunk at a time; each line's outcome goes to ``report``.

    :param progress: called with the number of people done after each chunk
    :raises UnknownListError: if the list does not exist
    """
    target = _Target(session, get_list(session, list_slug).id, keys, confirmed)
    for start in range(0, len(people), CHUNK):
        chunk = people[start : start + CHUNK]
        target.apply(chunk, report)
        if progress is not None:
            progress(len(chunk))
    for lines in (report.imported, report.updated):
        lines.sort()
    report.skipped.sort(key=lambda note: note.line)


def _person(record: Record, report: ImportReport) -> Person | None:
    raw = unguard_cell(record.values.get(Field.EMAIL, "").strip())
    try:
        email = normalise(raw)
    except InvalidAddressError as exc:
        reason = SkipReason.NO_ADDRESS if not raw.strip() else SkipReason.INVALID
        detail = f"{_shorten(raw)}: {exc}" if raw.strip() else "the email cell is empty"
        report.skipped.append(LineNote(record.line, reason, detail))
        return None
    return Person(
        record.line,
        email,
        _name(record, report),
        _language(record, report),
        parse_sections(record.values[Field.SECTIONS]) if Field.SECTIONS in record.values else None,
    )


def _name(record: Record, report: ImportReport) -> str:
    name = " ".join(record.values.get(Field.NAME, "").split())
    surname = " ".join(record.values.get(Field.SURNAME, "").split())
    if surname and surname.casefold() not in name.casefold():
        name = f"{name} {surname}".strip()
    name = unguard_cell(name)
    if len(name) > NAME_LENGTH:
        report.notes.append(LineNote(record.line, "name", f"cut to {NAME_LENGTH} characters"))
        name = name[:NAME_LENGTH]
    return name


def _language(record: Record, report: ImportReport) -> str | None:
    raw = record.values.get(Field.LANGUAGE, "").strip()
    language = normalise_language(raw) if raw else None
    if raw and language is None:
        report.notes.append(LineNote(record.line, "language", f"{_shorten(raw)} not understood"))
    return language


def _merge(kept: Person, later: Person) -> None:
    kept.name = kept.name or later.name
    kept.language = kept.language or later.language
    kept.sections = kept.sections if kept.sections is not None else later.sections


def _shorten(text: str, limit: int = 60) -> str:
    text = " ".join(text.split())
    return repr(text if len(text) <= limit else text[: limit - 1] + "…")


class _Target:
    """One list being imported into: the statements run for each chunk of people."""

    def __init__(self, session: Session, list_id: int, keys: Sequence[str], confirmed: bool):
        self.session, self.list_id, self.keys = session, list_id, keys
        self.status = SubscriptionStatus.CONFIRMED if confirmed else SubscriptionStatus.PENDING

    def apply(self, people: list[Person], report: ImportReport) -> None:
        """Subscribe one chunk of people, recording each line's outcome in ``report``."""
        suppressed = suppressed_among(self.session, self.keys, [p.email for p in people])
        known = upsert.known_people(self.session, self.list_id, [p.key for p in people])
        welcome: list[Person] = []
        for person in people:
            why = _refusal(known.get(person.key), suppressed.get(person.key))
            if why is not None:
                report.skipped.append(LineNote(person.line, *why))
            else:
                welcome.append(person)
        now = utcnow()
        ids = self._write_people(welcome, known, now)
        members = {p.key for p in welcome if p.key in known and known[p.key].status is not None}
        report.updated.extend(p.line for p in welcome if p.key in members)
        pending = [ids[k] for k in members if known[k].status == SubscriptionStatus.PENDING]
        if self.status is SubscriptionStatus.CONFIRMED and pending:
            upsert.confirm_pending(self.session, self.list_id, pending, now)
        joining = [p for p in welcome if p.key not in members]
        if joining:
            created = upsert.subscribe(
                self.session, self.list_id, [ids[p.key] for p in joining], self.status, now
            )
            for person in joining:
                lines = report.imported if ids[person.key] in created else report.updated
                lines.append(person.line)

    def _write_people(
        self, people: list[Person], known: dict[str, upsert.Known], now: dt.datetime
    ) -> dict[str, int]:
        """Insert the new people and update the changed ones; returns every id by key."""
        ids = {p.key: known[p.key].id for p in people if p.key in known}
        new = [_new_row(p) for p in people if p.key not in known]
        if new:
            ids |= upsert.insert_people(self.session, new, now)
            missing = [p.key for p in people if p.key not in ids]
            if missing:  # another transaction added them meanwhile
                ids |= upsert.ids_by_key(self.session, missing)
        changed = [c for p in people if p.key in known and (c := _changes(p, known[p.key]))]
        if changed:
            upsert.update_people(self.session, changed)
        return ids


def _new_row(person: Person) -> dict[str, Any]:
    return {
        "email": person.email,
        "name": person.name,
        "language": person.language or DEFAULT_LANGUAGE,
        "attributes": with_sections({}, person.sections) if person.sections else {},
    }


def _refusal(known: upsert.Known | None, suppression: str | None) -> tuple[str, str] | None:
    """Why this person must not be subscribed by an import, if they must not."""
    if suppression is not None or (known is not None and known.suppressed):
        return SkipReason.SUPPRESSED, f"on the suppression list ({suppression or 'linked'})"
    status = known.status if known is not None else None
    if status == SubscriptionStatus.UNSUBSCRIBED:
        return SkipReason.UNSUBSCRIBED, "left this list (only a new consent of theirs can undo it)"
    if status == SubscriptionStatus.BOUNCED:
        return SkipReason.BOUNCED, "mail to this address bounced on this list"
    return None


def _changes(person: Person, known: upsert.Known) -> dict[str, Any] | None:
    """The row to write for a person already in the database, if the file changes them.

    A blank cell keeps what we have: the file may simply not know it.
    """
    name, language = person.name or known.name, person.language or known.language
    same = (name, language) == (known.name, known.language)
    if same and person.sections is None:
        return None  # the common case: no JSON parsed
    attributes = known.attributes
    if person.sections is not None and person.sections != attributes.get(SECTIONS):
        attributes = with_sections(attributes, person.sections)
    elif same:
        return None
    return {"id": known.id, "name": name, "language": language, "attributes": attributes}
