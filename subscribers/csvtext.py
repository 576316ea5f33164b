"""What a file's bytes are: text or not, and in which encoding, learnt a block at a time.

Offices' CSV files come as UTF-8 with or without a BOM, UTF-16 ("Unicode text"),
Windows-1252 or Latin-1. :func:`scan` reads a file once, a block at a time, never
whole, and says which encoding reads all of it (UTF-8 only if all of it is valid
UTF-8), refusing empty, binary and foreign files (workbooks, PDFs) by name.
"""

from __future__ import annotations

import codecs
import io
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

from subscribers.errors import ImportFileError

CONTROL_RATIO = 0.01  # more control characters than this and it is not a text file
SNIFF_CHARS = 65536
READ_BYTES = 1 << 20  # a file is read a block at a time, never whole

# What other files look like, for a message that says what to do instead.
_FOREIGN_FORMATS = (
    (b"PK\x03\x04", "an Excel workbook (.xlsx) or another zip file", "import.xlsx"),
    (b"\xd0\xcf\x11\xe0", "an old Excel workbook (.xls)", "import.xls"),
    (b"%PDF", "a PDF document", "import.pdf"),
)


def decode(data: bytes, path: Path) -> tuple[str, str]:
    """The text of ``data`` and the encoding used: UTF-8 if it is valid, else Windows-1252.

    :raises ImportFileError: for empty, binary or otherwise non-text content
    """
    encoding = scan(lambda: io.BytesIO(data), path).encoding
    return checked(data.decode(encoding), path), encoding


@dataclass(frozen=True)
class Scanned:
    """What one pass over a file's bytes learnt: its encoding and how many lines it has."""

    encoding: str
    lines: int


def scan(opener: Callable[[], BinaryIO], path: Path) -> Scanned:
    """The encoding of a text file: UTF-8 if all of it is, else Windows-1252 (or Latin-1).

    :raises ImportFileError: for empty, binary or otherwise non-text content
    """
    with opener() as raw:
        head = raw.read(READ_BYTES)
        encoding = _declared(head, path)
        decoders = {name: codecs.getincrementaldecoder(name)() for name in encoding}
        lines, blank, block = 0, True, head
        while block:
            blank = blank and not block.strip()
            if "utf-16" not in decoders and b"\x00" in block:
                raise ImportFileError(f"{path}:1: binary data, not a CSV text file").coded(
                    "import.binary"
                )
            for name, decoder in list(decoders.items()):
                try:
                    text = decoder.decode(block)
                except UnicodeDecodeError as exc:
                    if len(decoders) == 1:  # a BOM said which: it must hold
                        line = lines + block[: exc.start].count(b"\n") + 1
                        refused = ImportFileError(f"{path}:{line}: not valid {name} text")
                        raise refused.coded(
                            "import.bad_encoding", line=line, encoding=name
                        ) from exc
                    del decoders[name]  # not UTF-8 after all
                    continue
                if name == "utf-16" and "\x00" in text:
                    raise ImportFileError(f"{path}:1: binary data, not a CSV text file").coded(
                        "import.binary"
                    )
            lines += block.count(b"\n")
            block = raw.read(READ_BYTES)
        _finish(decoders, path, lines)
    if blank:
        raise ImportFileError(f"{path}:1: the file is empty").coded("import.empty")
    return Scanned(next(iter(decoders)), lines + 1)


def _finish(decoders: dict[str, codecs.IncrementalDecoder], path: Path, lines: int) -> None:
    """Drop the encodings the file ends in the middle of a character for."""
    for name, decoder in list(decoders.items()):
        try:
            decoder.decode(b"", final=True)
        except UnicodeDecodeError as exc:
            if len(decoders) == 1:
                refused = ImportFileError(f"{path}:{lines + 1}: not valid {name} text")
                raise refused.coded("import.bad_encoding", line=lines + 1, encoding=name) from exc
            del decoders[name]


def _declared(head: bytes, path: Path) -> tuple[str, ...]:
    """The encodings ``head`` (the first bytes) allows, the likelier first."""
    if head.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return ("utf-16",)
    for signature, kind, key in _FOREIGN_FORMATS:
        if head.startswith(signature):
            raise ImportFileError(
                f"{path}:1: this is {kind}, not CSV: save it as CSV (UTF-8) and import that"
            ).coded(key)
    if head.startswith(codecs.BOM_UTF8):
        return ("utf-8-sig",)
    # cp1252 leaves five bytes undefined; Latin-1 defines every byte.
    return ("utf-8", "cp1252", "latin-1")


def checked(text: str, path: Path) -> str:
    """``text`` if it looks like text; binary files decode as cp1252 too, full of controls.

    NUL is looked for in the whole text, not just the sample: no text file holds one,
    and PostgreSQL's text columns refuse it, which would fail the import in the database
    instead of naming the file.
    """
    sample = text[:SNIFF_CHARS]
    controls = sum(1 for c in sample if unicodedata.category(c) == "Cc" and c not in "\t\r\n")
    if "\x00" in text or controls > CONTROL_RATIO * len(sample):
        raise _binary(path)
    return text


def _binary(path: Path) -> ImportFileError:
    return ImportFileError(f"{path}:1: binary data, not a CSV text file").coded("import.binary")
