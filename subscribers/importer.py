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
from typing import Any, NamedTuple

from sqlalchemy.orm import Session

from subscribers import upsert
from subscribers.attributes import SECTIONS, section_names, with_sections
from subscribers.bulk import dialect_of
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
    that store the previous chunk in ``session`` (in the caller's thread and transaction);
    the thread also makes the statements' parameters that need no database.
    An error in the file's later lines is raised after some chunks are stored: the
    caller's transaction, rolled back, undoes them.
    """
    report = new_report(source)
    mailing_list = get_list(session, list_slug)
    target = _Target(session, mailing_list.id, keys, confirmed)
    # A newsletter's sections are checked; a plain list (no settings) takes any name.
    known = section_names(mailing_list.settings) if mailing_list.settings else None
    collector = PeopleCollector(known)
    people = _prepared(collector.chunks(source.records, CHUNK), keys, target)
    with _cycle_collection_paused(), prefetched(people) as chunks:
        for chunk in chunks:
            target.apply(chunk, report)
            if progress is not None:
                progress(chunk.records)
    report.skipped += collector.skipped
    report.notes += collector.notes
    target.complete(collector.late, report)
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
        target.apply(_prepare(chunk, len(chunk), keys, new=False), report)
        if progress is not None:
            progress(len(chunk))
    _sort(report)


class _Prepared(NamedTuple):
    """A chunk of people, with what storing them takes that needs no database."""

    people: list[Person]
    records: int  # how many records were read to find them
    digests: dict[str, str]  # their suppression digests (digests_of)
    new: upsert.NewPeople | None  # for add_new_people, if the target was inserting first


def _prepared(
    chunks: Iterable[PeopleChunk], keys: Sequence[str], target: _Target
) -> Iterator[_Prepared]:
    """Each chunk prepared where it is made (the thread), ``new`` while the target inserts first.

    Reading ``target.insert_first`` from another thread is harmless: a stale value only
    means parameters made for nothing, or made later by the target itself.
    """
    for chunk in chunks:
        yield _prepare(chunk.people, chunk.records, keys, target.insert_first)


def _prepare(people: list[Person], records: int, keys: Sequence[str], new: bool) -> _Prepared:
    digests = digests_of(keys, [p.email for p in people]) if people else {}
    return _Prepared(
        people, records, digests, _new_people(people, digests) if new and people else None
    )


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
    """One list being imported into: the statements run for each chunk of people.

    On PostgreSQL a chunk of mostly new people is stored insert first: one statement
    inserts and subscribes those neither there yet nor suppressed, and only the others
    are looked up. Elsewhere, and once a file brings mostly people already there (a
    re-import), everyone is looked up first: inserting them first would cost a wasted
    sequence value and an index probe each.
    """

    def __init__(self, session: Session, list_id: int, keys: Sequence[str], confirmed: bool):
        self.session, self.list_id, self.keys = session, list_id, keys
        self.status = SubscriptionStatus.CONFIRMED if confirmed else SubscriptionStatus.PENDING
        # PostgreSQL inserts and subscribes new people in one statement (add_new_people)
        self.one_statement = dialect_of(session) == "postgresql"
        self.insert_first = self.one_statement  # while the file brings mostly new people

    def apply(self, chunk: _Prepared, report: ImportReport) -> None:
        """Subscribe one chunk of people, recording each line's outcome in ``report``."""
        people = chunk.people
        if not people:
            return
        rest, digests, inserted = people, chunk.digests, 0
        if self.insert_first:
            added = self._add_new(chunk)
            report.imported.extend(p.line for p in people if p.key in added)
            rest = [p for p in people if p.key not in added]
            digests = {d: key for d, key in digests.items() if key not in added} if rest else {}
            inserted = len(added)
        if rest:
            inserted += self._look_up_and_store(rest, report, digests)
        self.insert_first = self.one_statement and 2 * inserted >= len(people)

    def complete(self, late: dict[str, Person], report: ImportReport) -> None:
        """Write what duplicates added to people stored before the duplicates were read.

        The result is what storing the completed person in the first place would
        have written. Only the people welcomed are completed, not those the import
        skipped (who left the list, say); their rows are read again, rather than kept
        all along, for the few people a later line completes.
        """
        skipped = {note.line for note in report.skipped}
        welcome = {key: person for key, person in late.items() if person.line not in skipped}
        if not welcome:
            return
        addresses = {key: person.email for key, person in welcome.items()}
        known = upsert.known_people(self.session, self.list_id, addresses)
        rows = [row for key in known if (row := _changes(welcome[key], known[key]))]
        if rows:
            upsert.update_people(self.session, rows)

    def _add_new(self, chunk: _Prepared) -> dict[str, int]:
        """Insert and subscribe the new, unsuppressed people; returns their ids by key."""
        new = chunk.new if chunk.new is not None else _new_people(chunk.people, chunk.digests)
        by_email = upsert.add_new_people(self.session, self.list_id, new, self.status, utcnow())
        return _by_key(chunk.people, by_email)

    def _look_up_and_store(
        self, people: list[Person], report: ImportReport, digests: dict[str, str]
    ) -> int:
        """Look people up, then subscribe those welcome; returns how many it inserted.

        :param digests: the people's suppression digests (:func:`digests_of`)
        """
        suppressed = suppressed_by_digest(self.session, digests)
        known = upsert.known_people(self.session, self.list_id, _addresses(people))
        welcome = _welcome(people, known, suppressed, report.skipped)
        now = utcnow()
        new = [p for p in welcome if p.key not in known]
        joined = self._insert(new, now) if new else {}
        report.imported.extend(p.line for p in new if p.key in joined)
        others = [p for p in welcome if p.key not in joined]
        if others:
            self._welcome_others(others, known, report, now)
        return len(joined)

    def _insert(self, people: list[Person], now: dt.datetime) -> dict[str, int]:
        """Insert and subscribe people not in the database; returns the ids of those it did."""
        if self.one_statement:  # the caller found none of them suppressed
            new = _new_people(people, {})
            by_email = upsert.add_new_people(self.session, self.list_id, new, self.status, now)
        else:
            by_email = upsert.insert_people(self.session, [_new_row(p) for p in people], now)
            upsert.subscribe(self.session, self.list_id, list(by_email.values()), self.status, now)
        return _by_key(people, by_email)

    def _welcome_others(
        self,
        people: list[Person],
        known: dict[str, upsert.Known],
        report: ImportReport,
        now: dt.datetime,
    ) -> None:
        """Subscribe people already in the database, or added by another transaction meanwhile."""
        ids = {p.key: known[p.key].id for p in people if p.key in known}
        missing = _addresses([p for p in people if p.key not in ids])
        if missing:  # another transaction added them after they were looked up
            ids |= upsert.ids_by_key(self.session, missing)
        changed = [c for p in people if p.key in known and (c := _changes(p, known[p.key]))]
        if changed:
            upsert.update_people(self.session, changed)
        members = {p.key for p in people if p.key in known and known[p.key].status is not None}
        report.updated.extend(p.line for p in people if p.key in members)
        pending = [ids[k] for k in members if known[k].status == SubscriptionStatus.PENDING]
        if self.status is SubscriptionStatus.CONFIRMED and pending:
            upsert.confirm_pending(self.session, self.list_id, pending, now)
        joining = [p for p in people if p.key not in members]
        if joining:
            created = upsert.subscribe(
                self.session, self.list_id, [ids[p.key] for p in joining], self.status, now
            )
            for person in joining:
                lines = report.imported if ids[person.key] in created else report.updated
                lines.append(person.line)


def _addresses(people: list[Person]) -> dict[str, str]:
    """Each person's address as written, by key: the database compares addresses itself."""
    return {p.key: p.email for p in people}


def _by_key(people: list[Person], ids_by_email: dict[str, int]) -> dict[str, int]:
    """Ids the database returned by address, by the people's keys."""
    return {p.key: ids_by_email[p.email] for p in people if p.email in ids_by_email}


def _new_people(people: list[Person], digests: dict[str, str]) -> upsert.NewPeople:
    return upsert.new_people([{"key": p.key, **_new_row(p)} for p in people], digests)


def _new_row(person: Person) -> dict[str, Any]:
    return {
        "email": person.email,
        "name": person.name,
        "language": person.language or DEFAULT_LANGUAGE,
        "attributes": with_sections({}, person.sections) if person.sections else {},
    }


def _welcome(
    people: list[Person],
    known: dict[str, upsert.Known],
    suppressed: dict[str, str],
    skipped: list[LineNote],
) -> list[Person]:
    """The people an import may subscribe; the others go to ``skipped``, with the reason."""
    welcome: list[Person] = []
    for person in people:
        why = _refusal(known.get(person.key), suppressed.get(person.key))
        if why is not None:
            skipped.append(LineNote(person.line, *why))
        else:
            welcome.append(person)
    return welcome


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
