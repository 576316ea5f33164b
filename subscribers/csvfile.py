"""Reading the office's CSV files as they really are: any encoding, delimiter and header.

Spreadsheets saved by Italian Excel use ``;`` and Windows-1252, LibreOffice writes
UTF-8 with or without a BOM, "Unicode text" is UTF-16 with tabs, and headers come
in Italian or English with any case, spacing and accents. This module turns such a
file into records keyed by a small set of known fields, each with the physical line
it starts on (the header is line 1; a quoted field may span lines). It is pure: bytes
in, records out (:mod:`subscribers.csvtext` tells their encoding); what the values mean
is the importer's business.
"""

from __future__ import annotations

import csv
import enum
import io
import re
import unicodedata
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import IO, TYPE_CHECKING, BinaryIO

from subscribers.csvtext import SNIFF_CHARS, checked, scan
from subscribers.errors import ImportFileError

if TYPE_CHECKING:
    from _csv import Reader

DELIMITERS = (";", ",", "\t")  # in order of preference on a tie: Italian Excel first
SNIFF_LINES = 20  # data lines looked at when the header alone does not tell the delimiter
# A cell running over more lines or characters is rows swallowed by a stray quote: no
# spreadsheet cell holds more than 32,767 characters (Excel's limit, LibreOffice's too).
MAX_CELL_LINES = 100
MAX_CELL_CHARS = 32767


class Field(enum.StrEnum):
    """The columns the importer understands; any other column is ignored."""

    EMAIL = "email"
    NAME = "name"
    SURNAME = "surname"
    LANGUAGE = "language"
    SECTIONS = "sections"


#: What makes a spreadsheet take a cell for a formula.
FORMULA_STARTS = ("=", "+", "-", "@")


def guard_cell(text: str) -> str:
    """``text`` made safe to open in a spreadsheet: an apostrophe before a formula start."""
    return "'" + text if text.startswith(FORMULA_STARTS) else text


def unguard_cell(text: str) -> str:
    """The inverse of :func:`guard_cell`, for files we exported."""
    return text[1:] if text[:1] == "'" and text[1:2] in FORMULA_STARTS else text


def header_key(text: str) -> str:
    """A header cell reduced to lower-case ASCII letters and digits ("E-mail " -> "email")."""
    decomposed = unicodedata.normalize("NFKD", text.casefold())
    return "".join(c for c in decomposed if c.isascii() and c.isalnum())


_ALIASES: dict[Field, tuple[str, ...]] = {
    Field.EMAIL: (
        "email", "mail", "emailaddress", "indirizzoemail", "indirizzomail", "postaelettronica",
        "indirizzopostaelettronica", "indirizzodipostaelettronica",
    ),
    Field.NAME: (
        "nome", "name", "nomeecognome", "nomecognome", "cognomeenome", "fullname",
        "nominativo", "firstname", "givenname",
    ),
    Field.SURNAME: ("cognome", "surname", "lastname", "familyname"),
    Field.LANGUAGE: ("lingua", "language", "lang", "linguapreferita"),
    Field.SECTIONS: ("sezioni", "sections", "rubriche", "argomenti", "topics"),
}  # fmt: skip
HEADER_FIELDS: dict[str, Field] = {
    alias: field for field, aliases in _ALIASES.items() for alias in aliases
}


@dataclass(frozen=True, slots=True)  # slots: a file has many; no __dict__ each
class Record:
    """One data row: the physical line it starts on and its known fields' raw values."""

    line: int
    values: dict[Field, str]


@dataclass(frozen=True)
class CsvLayout:
    """How a CSV file was decoded and split.

    :param encoding: ``utf-8``, ``utf-8-sig`` (with BOM), ``utf-16``, ``cp1252`` or ``latin-1``
    :param columns: each known field and the header cell it was found under
    :param ignored: header cells of the columns not imported
    :param lines: how many physical lines the file has (header included)
    """

    path: Path
    encoding: str
    delimiter: str
    columns: dict[Field, str]
    ignored: tuple[str, ...]
    lines: int


@dataclass(frozen=True)
class CsvFile(CsvLayout):
    """A CSV file as read: how it was decoded and split, and its records."""

    records: list[Record]


@dataclass(frozen=True)
class CsvStream(CsvLayout):
    """A CSV file whose records are split as they are iterated, for one pass.

    Iterating raises :class:`ImportFileError` (naming the line) where the file stops
    being valid CSV, after the records before it.
    """

    records: Iterator[Record]


def read_csv(path: Path) -> CsvFile:
    """Read and split a CSV file.

    :raises ImportFileError: if it cannot be read, is not text, or has no email column
    """
    return _listed(open_csv(path))


def open_csv(path: Path) -> CsvStream:
    """Decode a CSV file and read its header; its records are read and split when iterated.

    The file is read twice, a block at a time, never whole: once to learn its encoding
    (UTF-8 only if all of it is valid UTF-8), then as records.

    :raises ImportFileError: if it cannot be read, is not text, or has no email column
    """
    try:
        return stream_csv(lambda: path.open("rb"), path)
    except OSError as exc:
        raise ImportFileError(f"{path}:1: cannot be read: {exc.strerror}") from exc


def parse_csv(data: bytes, path: Path) -> CsvFile:
    """Decode and split ``data``, the content of ``path`` (named in error messages).

    :raises ImportFileError: naming the file and line, when it cannot be used at all
    """
    return _listed(stream_csv(lambda: io.BytesIO(data), path))


def stream_csv(opener: Callable[[], BinaryIO], path: Path) -> CsvStream:
    """Like :func:`parse_csv`, for the bytes ``opener()`` gives, split as they are iterated.

    :raises ImportFileError: naming the file and line, when it cannot be used at all
    """
    found = scan(opener, path)
    text = io.TextIOWrapper(opener(), encoding=found.encoding, newline="")
    try:
        head = checked(text.read(SNIFF_CHARS), path)
        text.seek(0)
        delimiter, start = detect_delimiter(head), 1
        if re.fullmatch(r"sep=(.)\r?\n?", first := text.readline()):  # Excel's hint: "sep=;"
            delimiter, start = first[4], 2
        else:
            text.seek(0)
        reader = csv.reader(text, delimiter=delimiter, strict=True)
        rows = _rows(reader, path, start)
        header_line, _, header = next(rows, (start, start, []))
        columns, positions, ignored = map_header(header, path, header_line)
    except BaseException:
        text.close()
        raise
    records = _records(rows, positions, _SpanCheck(path, delimiter, positions[Field.EMAIL]))
    layout = (path, found.encoding, delimiter, columns, ignored, found.lines)
    return CsvStream(*layout, _closing(records, text))


def _closing(records: Iterator[Record], text: IO[str]) -> Iterator[Record]:
    with text:
        yield from records


def _listed(stream: CsvStream) -> CsvFile:
    layout = (stream.path, stream.encoding, stream.delimiter, stream.columns, stream.ignored)
    return CsvFile(*layout, stream.lines, list(stream.records))


def detect_delimiter(text: str) -> str:
    """The delimiter of a CSV text: the candidate that splits the header and data alike.

    Quoted parts are left out of the count, so ``"Rossi, Mario";mario@example.org``
    is split on ``;``.
    """
    sample = re.sub(r'"[^"]*"', '""', text[:SNIFF_CHARS])
    lines = [line for line in sample.splitlines() if line.strip()][: SNIFF_LINES + 1]
    if lines and re.fullmatch(r"sep=.", lines[0]):
        lines = lines[1:]
    if not lines:
        return DELIMITERS[0]

    def score(delimiter: str) -> tuple[bool, int, int]:
        header = lines[0].count(delimiter)
        alike = sum(1 for line in lines[1:] if line.count(delimiter) == header)
        data = sum(line.count(delimiter) for line in lines[1:])
        return header > 0 or data > 0, alike if header else 0, header or data

    return max(DELIMITERS, key=score)


def map_header(
    header: Sequence[str], path: Path, line: int
) -> tuple[dict[Field, str], dict[Field, int], tuple[str, ...]]:
    """Find the known fields among the header cells.

    :returns: each field's header cell, each field's column index, the ignored cells
    :raises ImportFileError: if no column holds email addresses
    """
    columns: dict[Field, str] = {}
    positions: dict[Field, int] = {}
    ignored: list[str] = []
    for index, cell in enumerate(header):
        found = HEADER_FIELDS.get(header_key(cell))
        if found is None or found in positions:
            if cell.strip():
                ignored.append(cell.strip())
            continue
        columns[found], positions[found] = cell.strip(), index
    if Field.EMAIL not in positions:
        named = ", ".join(cell.strip() for cell in header if cell.strip())[:200]
        refused = ImportFileError(_no_email_column(header, path, line))
        raise refused.coded("import.no_email_column", line=line, found=named or "–")
    return columns, positions, tuple(ignored)


def _no_email_column(header: Sequence[str], path: Path, line: int) -> str:
    found = ", ".join(repr(cell.strip()) for cell in header if cell.strip())[:200]
    message = f"{path}:{line}: no email column in the header (found: {found or 'nothing'})"
    if any("@" in cell for cell in header):
        message += "; the first line looks like data: add a header line such as 'email;nome'"
    return message + "; expected a column named email, e-mail or indirizzo email"


def _rows(reader: Reader, path: Path, start: int) -> Iterator[tuple[int, int, list[str]]]:
    """The non-blank rows with the physical lines each starts and ends on.

    Excel writes an empty spreadsheet row as ``;;;``: that is blank too. The reader is
    strict: a quote that is never closed, or text right after a closing quote, is how
    a stray quote shows itself, and the file is refused at the line its record began.
    """
    previous = start - 1
    try:
        for row in reader:
            line, previous = previous + 1, reader.line_num + start - 1
            if any(map(str.strip, row)):  # map, not a generator: this runs once per row
                yield line, previous, row
    except csv.Error as exc:
        problem = _csv_problem(exc, reader.line_num + start - 1)
        refused = ImportFileError(f"{path}:{previous + 1}: not valid CSV: {problem}")
        key = "import.stray_quote" if "stray quote" in problem else "import.not_csv"
        raise refused.coded(key, line=previous + 1) from exc


def _csv_problem(exc: csv.Error, at: int) -> str:
    """What a strict reader's error means to someone who made the file in a spreadsheet."""
    what = str(exc)
    if what == "unexpected end of data":
        what = "a quoted cell starts in this record and its quote is never closed"
    elif what.endswith("expected after '\"'"):
        what = f"a quoted cell starts in this record and is closed on line {at}, before text"
    else:
        return what
    return f"{what} (a stray quote?); nothing was imported"


def _records(
    rows: Iterator[tuple[int, int, list[str]]], positions: dict[Field, int], spans: _SpanCheck
) -> Iterator[Record]:
    """The known fields of each row; a short row (cells left off at its end) gets blanks."""
    fields, indexes = tuple(positions), tuple(positions.values())
    width = max(indexes) + 1
    for line, last, row in rows:
        if last > line:  # a quoted cell holds line breaks: rare, so checked only then
            spans.check(row, line)
        if len(row) < width:
            row = row + [""] * (width - len(row))
        yield Record(line, dict(zip(fields, [row[i] for i in indexes], strict=True)))


@dataclass(frozen=True)
class _SpanCheck:
    """Whether a cell that runs over several lines is a note, or rows a stray quote swallowed.

    A spreadsheet cell may hold line breaks (Excel's Alt+Enter, in a "note" column), and
    the CSV then quotes it over several lines. A quote left open by mistake makes a cell
    of the following rows instead, and they would be lost without a word. Refused, at the
    line the cell begins on: an address over several lines; a cell longer than a
    spreadsheet cell can be, or over :data:`MAX_CELL_LINES` lines; a cell holding a line
    that reads as a row of this file (an ``@`` where the email column is).
    """

    path: Path
    delimiter: str
    email: int  # the email column's index

    def check(self, row: list[str], line: int) -> None:
        for index, cell in enumerate(row):
            breaks = cell.count("\n") + cell.count("\r") - cell.count("\r\n")
            if breaks:
                start = line + sum(c.count("\n") for c in row[:index])
                why = self._why(index, cell, breaks, start)
                if why is not None:
                    raise ImportFileError(
                        f"{self.path}:{start}: a quoted cell starts on this line and {why}:"
                        " a stray quote? Fix the file and import it again; nothing was imported"
                    ).coded("import.stray_quote", line=start)

    def _why(self, index: int, cell: str, breaks: int, start: int) -> str | None:
        if index == self.email:
            return f"runs over {breaks + 1} lines in the email column"
        if len(cell) > MAX_CELL_CHARS or breaks >= MAX_CELL_LINES:
            return f"runs over {breaks + 1} lines ({len(cell):,} characters)"
        for number, text in enumerate(cell.splitlines()[1:], start=1):
            cells = text.split(self.delimiter)
            if len(cells) > self.email and "@" in cells[self.email]:
                return f"holds what reads as a row of the file (line {start + number})"
        return None
