"""Pipe tables in the plain-text part: aligned columns when they fit, records when not.

A table a reader can follow in a fixed-width font is columns under a ruled header. A
table too wide for the text part's lines would wrap into nonsense, so it is written as
one block per row instead, each cell after its column's header ("Comune: Torino").
"""

from __future__ import annotations

import textwrap
from collections.abc import Sequence
from dataclasses import dataclass, field

GAP = "  "  # between columns


@dataclass
class TextTable:
    """The cells of one table as the text writer meets them, row by row."""

    header: list[str] = field(default_factory=list)
    rows: list[list[str]] = field(default_factory=list)
    aligns: list[str] = field(default_factory=list)  # "left", "right" or "center"
    _row: list[str] | None = None

    def start_row(self) -> None:
        self._row = []

    def add_cell(self, text: str, align: str, in_header: bool) -> None:
        if self._row is None:  # a cell before its row opened: markdown-it never does this
            self._row = []
        self._row.append(" ".join(text.split()))
        if in_header:
            self.aligns.append(align)

    def end_row(self, in_header: bool) -> None:
        row, self._row = self._row or [], None
        if in_header:
            self.header = row
        else:
            self.rows.append(row)

    def lay_out(self, width: int) -> str:
        """The table as text no wider than ``width`` when its columns fit, else as records."""
        columns = [self.header, *self.rows]
        widths = [
            max(len(row[i]) for row in columns if i < len(row)) for i in range(len(self.header))
        ]
        if sum(widths) + len(GAP) * (len(widths) - 1) <= width:
            return _columns(self.header, self.rows, widths, self.aligns)
        return _records(self.header, self.rows, width)


def _pad(text: str, width: int, align: str) -> str:
    if align == "right":
        return text.rjust(width)
    if align == "center":
        return text.center(width)
    return text.ljust(width)


def _columns(
    header: Sequence[str],
    rows: Sequence[Sequence[str]],
    widths: Sequence[int],
    aligns: Sequence[str],
) -> str:
    def line(cells: Sequence[str]) -> str:
        padded = (
            _pad(cells[i] if i < len(cells) else "", w, aligns[i]) for i, w in enumerate(widths)
        )
        return GAP.join(padded).rstrip()

    rule = GAP.join("-" * w for w in widths)
    return "\n".join([line(header), rule, *(line(row) for row in rows)])


def _records(header: Sequence[str], rows: Sequence[Sequence[str]], width: int) -> str:
    wrapper = textwrap.TextWrapper(
        width=width, subsequent_indent="  ", break_long_words=False, break_on_hyphens=False
    )
    blocks = []
    for row in rows:
        pairs = zip(header, row, strict=False)
        lines = (f"{name}: {value}" if name else value for name, value in pairs)
        blocks.append("\n".join(wrapper.fill(line) for line in lines if line))
    return "\n\n".join(blocks)
