"""The people a CSV file names: each record validated, one person per address.

Pure: records in, people out, with a note for every line left out or not fully
used. :class:`PeopleCollector` hands the people out a chunk at a time while it
reads on, so that the database can store one chunk while the next is validated
(see :mod:`subscribers.importer`).
"""

from __future__ import annotations

import dataclasses
import enum
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass

from subscribers.addresses import address_key, needs_smtputf8, normalise
from subscribers.attributes import normalise_language, parse_sections
from subscribers.csvfile import Field, Record, unguard_cell
from subscribers.errors import InvalidAddressError

NAME_LENGTH = 200  # the subscribers.name column
SMTPUTF8_NOTE = (
    "its local part is not ASCII: mail reaches it only through a relay offering SMTPUTF8"
    " (Postfix does by default); elsewhere each send fails it, saying so"
)


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


@dataclass(slots=True)  # slots: one per line of a file that may have a million
class Person:
    """One person as a line of the file gives them, validated."""

    line: int
    email: str
    name: str
    language: str | None
    sections: list[str] | None
    key: str = ""  # address_key(email), the database's lower(email)

    def __post_init__(self) -> None:
        if not self.key:
            self.key = address_key(self.email)


@dataclass(frozen=True)
class PeopleChunk:
    """People handed out together, and how many records were read to find them."""

    people: list[Person]
    records: int


class PeopleCollector:
    """The valid people of a file, one per address; the lines left out go to ``skipped``.

    A later line with an address seen before is skipped as a duplicate, and fills the
    blanks (name, language, sections) of the first. A person already handed out is
    never changed (another thread may be storing them): what a later duplicate adds
    to them is kept in :attr:`late`, to be written after the last chunk.
    """

    def __init__(self, sections: Mapping[str, str] | None = None) -> None:
        # The list's sections (section_names): a cell naming another is noted and dropped.
        self.sections = sections
        self.skipped: list[LineNote] = []
        self.notes: list[LineNote] = []  # valid lines with a value that was not used
        self.late: dict[str, Person] = {}  # by key: handed-out people as duplicates completed
        # Each address seen, by key: the person, or only their line once they are handed
        # out with nothing a later line could add. A file may have millions of lines,
        # and this is all that is kept of each.
        self._first: dict[str, Person | int] = {}
        self._fields: frozenset[Field] = frozenset()  # the file's known columns

    def chunks(self, records: Iterable[Record], size: int) -> Iterator[PeopleChunk]:
        """The people of ``records``, ``size`` new addresses at a time, in file order."""
        current: list[Person] = []
        read = 0
        for record in records:
            read += 1
            person = person_of(record, self.skipped, self.notes, self.sections)
            if person is None:
                continue
            earlier = self._first.setdefault(person.key, person)
            if earlier is not person:
                self._add_duplicate(earlier, person, current)
                continue
            current.append(person)
            if len(current) == size:
                yield self._hand_out(current, read, record)
                current, read = [], 0
        if current or read:
            yield PeopleChunk(current, read)

    def _hand_out(self, people: list[Person], read: int, record: Record) -> PeopleChunk:
        """The chunk of ``people``; of those complete, only the line is kept from now on."""
        self._fields = self._fields or frozenset(record.values)
        for person in people:
            if not _fillable(person, self._fields):
                self._first[person.key] = person.line
        return PeopleChunk(people, read)

    def _add_duplicate(self, earlier: Person | int, later: Person, current: list[Person]) -> None:
        line = earlier if isinstance(earlier, int) else earlier.line
        note = f"same address as line {line}"
        self.skipped.append(LineNote(later.line, SkipReason.DUPLICATE, note))
        if isinstance(earlier, int):
            return  # handed out with nothing blank that a later line could fill
        if current and earlier.line >= current[0].line:  # not handed out yet
            merge(earlier, later)
            return
        completed = dataclasses.replace(self.late.get(earlier.key, earlier))
        merge(completed, later)
        if completed != earlier:
            self.late[earlier.key] = completed


def _fillable(person: Person, fields: frozenset[Field]) -> bool:
    """Whether a later line with the same address could fill a blank of ``person``."""
    return (
        (not person.name and (Field.NAME in fields or Field.SURNAME in fields))
        or (person.language is None and Field.LANGUAGE in fields)
        or (person.sections is None and Field.SECTIONS in fields)
    )


def person_of(
    record: Record,
    skipped: list[LineNote],
    notes: list[LineNote],
    known: Mapping[str, str] | None = None,
) -> Person | None:
    """The person on one line, or None (with the reason added to ``skipped``).

    :param known: the list's sections by what may name them (None: not checked)
    """
    values = record.values
    raw = unguard_cell(values.get(Field.EMAIL, "").strip())
    try:
        email = normalise(raw)
    except InvalidAddressError as exc:
        reason = SkipReason.NO_ADDRESS if not raw.strip() else SkipReason.INVALID
        detail = f"{shorten(raw)}: {exc}" if raw.strip() else "the email cell is empty"
        skipped.append(LineNote(record.line, reason, detail))
        return None
    if needs_smtputf8(email):
        notes.append(LineNote(record.line, "address", SMTPUTF8_NOTE))
    sections = values.get(Field.SECTIONS)
    return Person(
        record.line,
        email,
        _name(record, notes),
        _language(record, notes),
        None if sections is None else _sections(record.line, sections, known, notes),
        address_key(email),
    )


def _sections(
    line: int, raw: str, known: Mapping[str, str] | None, notes: list[LineNote]
) -> list[str]:
    """The sections a cell names; those the list does not have are noted and left out."""
    named = parse_sections(raw)
    if known is None:
        return named
    found: set[str] = set()
    for name in named:
        slug = known.get(" ".join(name.split()).casefold())
        if slug is None:
            slugs = ", ".join(sorted(set(known.values())))
            listed = f"its sections: {slugs}" if slugs else "it has no sections"
            problem = (
                f"{shorten(name)} is not a section of this newsletter (its sections: {listed})"
            )
            notes.append(LineNote(line, Field.SECTIONS.value, problem))
        else:
            found.add(slug)
    return sorted(found)


def merge(kept: Person, later: Person) -> None:
    """Fill the blanks of ``kept`` from a later line with the same address."""
    kept.name = kept.name or later.name
    kept.language = kept.language or later.language
    kept.sections = kept.sections if kept.sections is not None else later.sections


def shorten(text: str, limit: int = 60) -> str:
    text = " ".join(text.split())
    return repr(text if len(text) <= limit else text[: limit - 1] + "…")


def _name(record: Record, notes: list[LineNote]) -> str:
    name = " ".join(record.values.get(Field.NAME, "").split())
    surname = " ".join(record.values.get(Field.SURNAME, "").split())
    if surname and surname.casefold() not in name.casefold():
        name = f"{name} {surname}".strip()
    name = unguard_cell(name)
    if len(name) > NAME_LENGTH:
        notes.append(LineNote(record.line, "name", f"cut to {NAME_LENGTH} characters"))
        name = name[:NAME_LENGTH]
    return name


def _language(record: Record, notes: list[LineNote]) -> str | None:
    raw = record.values.get(Field.LANGUAGE, "").strip()
    if not raw:
        return None
    language = normalise_language(raw)
    if language is None:
        notes.append(LineNote(record.line, "language", f"{shorten(raw)} not understood"))
    return language
