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
import gc
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sqlalchemy.orm import Session

from subscribers import upsert
from subscribers.attributes import SECTIONS, with_sections
from subscribers.csvfile import CsvFile, CsvLayout, CsvStream, Record, open_csv
from subscribers.orm import SubscriptionStatus, utcnow
from subscribers.people import LineNote, PeopleChunk, PeopleCollector, Person, SkipReason
from subscribers.prefetch import prefetched
from subscribers.service import get_list
from subscribers.suppression import digests_of, suppressed_by_digest

__all__ = [
    "CHUNK", "ImportReport", "LineNote", "Person", "ProgressHook", "SkipReason", "collect_people",
    "import_csv", "import_records", "new_report", "store_people",
]  # fmt: skip

# Rows per round of statements: well under both databases' parameter limits, and small
# enough that the database starts early while the rest of the file is validated.
CHUNK = 4000
DEFAULT_LANGUAGE = "it"
ProgressHook = Callable[[int], None]


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
    :param progress: called with the number of records (data lines) done after each chunk
    :raises ImportFileError: if the file cannot be read, is not CSV or has no email column
    :raises UnknownListError: if the list does not exist
    """
    return import_records(
        session, open_csv(path), list_slug, keys=keys, confirmed=confirmed, progress=progress
    )


def import_records(
    session: Session,
    source: CsvFile | CsvStream,
    list_slug: str,
    *,
    keys: Sequence[str],
    confirmed: bool = False,
    progress: ProgressHook | None = None,
) -> ImportReport:
    """Like :func:`import_csv`, for a file already opened or read.

    The records are split and validated in a thread, a chunk ahead of the statements
    that store the previous chunk in ``session`` (in the caller's thread and transaction).
    An error in the file's later lines is raised after some chunks are stored: the
    caller's transaction, rolled back, undoes them.
    """
    report = new_report(source)
    target = _Target(session, get_list(session, list_slug).id, keys, confirmed)
    collector = PeopleCollector()
    people = _with_digests(collector.chunks(source.records, CHUNK), keys)
    with _cycle_collection_paused(), prefetched(people) as chunks:
        for chunk, digests in chunks:
            target.apply(chunk.people, report, digests)
            if progress is not None:
                progress(chunk.records)
    report.skipped += collector.skipped
    report.notes += collector.notes
    target.complete(collector.late)
    _sort(report)
    return report


def new_report(source: CsvLayout) -> ImportReport:
    """An empty report for a file: how it was read, nothing done yet."""
    columns = {str(found): header for found, header in source.columns.items()}
    return ImportReport(source.path, source.encoding, source.delimiter, columns, source.ignored)


def collect_people(records: list[Record], report: ImportReport) -> list[Person]:
    """The valid people of a file, one per address; the lines left out go to ``report``.

    A later line with an address seen before is skipped as a duplicate, and fills
    the blanks (name, language) of the first.
    """
    collector = PeopleCollector()
    people = [p for chunk in collector.chunks(records, len(records) + 1) for p in chunk.people]
    report.skipped += collector.skipped
    report.notes += collector.notes
    return people


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
        target.apply(chunk, report, digests_of(keys, [p.email for p in chunk]))
        if progress is not None:
            progress(len(chunk))
    _sort(report)


def _with_digests(
    chunks: Iterable[PeopleChunk], keys: Sequence[str]
) -> Iterator[tuple[PeopleChunk, dict[str, str]]]:
    """Each chunk with its suppression digests, computed where the chunk is (the thread)."""
    for chunk in chunks:
        yield chunk, digests_of(keys, [p.email for p in chunk.people]) if chunk.people else {}


@contextmanager
def _cycle_collection_paused() -> Iterator[None]:
    """Pause Python's cycle collector (process-wide) until the block ends, if it was on.

    An import keeps a few objects per line alive until it ends, none of them in a
    cycle, and the collector went over all of them again and again: a quarter of a
    100,000-line import's time, stalling the thread that talks to the database.
    Reference counting still frees everything else meanwhile; only cycles wait.
    """
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


def _sort(report: ImportReport) -> None:
    for lines in (report.imported, report.updated):
        lines.sort()
    report.skipped.sort(key=lambda note: note.line)


class _Target:
    """One list being imported into: the statements run for each chunk of people."""

    def __init__(self, session: Session, list_id: int, keys: Sequence[str], confirmed: bool):
        self.session, self.list_id, self.keys = session, list_id, keys
        self.status = SubscriptionStatus.CONFIRMED if confirmed else SubscriptionStatus.PENDING
        self.inserted: dict[str, int] = {}  # key -> id of each person this import added
        self.kept: set[str] = set()  # keys of the people already there that it welcomed

    def apply(self, people: list[Person], report: ImportReport, digests: dict[str, str]) -> None:
        """Subscribe one chunk of people, recording each line's outcome in ``report``.

        :param digests: the people's suppression digests (:func:`digests_of`)
        """
        if not people:
            return
        suppressed = suppressed_by_digest(self.session, digests)
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

    def complete(self, late: dict[str, Person]) -> None:
        """Write what duplicates added to people stored before the duplicates were read.

        The result is what storing the completed person in the first place would
        have written: a new person gets the whole row, a known one the same changes.
        """
        rows = [
            {**_new_row(person), "id": self.inserted[key]}
            for key, person in late.items()
            if key in self.inserted
        ]
        kept = [key for key in late if key in self.kept]
        if kept:
            known = upsert.known_people(self.session, self.list_id, kept)
            rows += [row for key in kept if (row := _changes(late[key], known[key]))]
        if rows:
            upsert.update_people(self.session, rows)

    def _write_people(
        self, people: list[Person], known: dict[str, upsert.Known], now: dt.datetime
    ) -> dict[str, int]:
        """Insert the new people and update the changed ones; returns every id by key."""
        ids = {p.key: known[p.key].id for p in people if p.key in known}
        self.kept.update(ids)
        new = [_new_row(p) for p in people if p.key not in known]
        if new:
            inserted = upsert.insert_people(self.session, new, now)
            self.inserted |= inserted
            ids |= inserted
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
