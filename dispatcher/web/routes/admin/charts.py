"""Small charts drawn on the server as SVG: the geometry here, the drawing in ``_chart.html``.

Each chart carries a title and a description for screen readers, and the pages show
the same figures as text or in a table beside it: the picture adds nothing a reader
without it would miss. Nothing runs in the browser.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from dispatcher.office.list_figures import EditionFigures, Week

WIDTH = 420  # small, so that a phone's screen shrinks its text little
ROW = 26  # a horizontal bar's row height
LABEL_WIDTH = 175  # room for the labels left of horizontal bars
COLUMN_HEIGHT = 120  # the plot area of a column chart
#: Fill colours with at least 3:1 against white (WCAG 1.4.11, non-text contrast).
COLOURS = ("#1c4f82", "#a4262c", "#6b4c00", "#3d6b1e", "#5b2a86")


@dataclass(frozen=True)
class Bar:
    x: float
    y: float
    width: float
    height: float
    colour: str
    value: int
    label: str  # what the bar stands for, as the page words it


@dataclass(frozen=True)
class Chart:
    """An SVG's size, its bars and its axis labels; ``key`` names each series' colour."""

    width: int
    height: int
    bars: tuple[Bar, ...]
    labels: tuple[tuple[float, float, str, str], ...]  # x, y, anchor, text
    key: tuple[tuple[str, str], ...] = ()  # colour, series name
    axis: float | None = None  # the y of a column chart's base line


def bar_rows(rows: list[tuple[str, int]], language: str = "it") -> Chart:
    """Horizontal bars, one row each: the label on the left, the value after the bar."""
    top = max((value for _, value in rows), default=0) or 1
    room = WIDTH - LABEL_WIDTH - 60
    bars: list[Bar] = []
    labels: list[tuple[float, float, str, str]] = []
    for index, (label, value) in enumerate(rows):
        y = index * ROW + 4
        colour = COLOURS[index % len(COLOURS)]
        length = max(room * value / top, 1.0 if value else 0.0)
        bars.append(Bar(LABEL_WIDTH, y, round(length, 1), ROW - 10, colour, value, label))
        labels.append((LABEL_WIDTH - 8, y + ROW / 2 - 1, "end", label))
        after = LABEL_WIDTH + length + 6.0
        labels.append((after, y + ROW / 2 - 1, "start", thousands(value, language)))
    return Chart(WIDTH, len(rows) * ROW + 8, tuple(bars), tuple(labels))


def week_columns(weeks: tuple[Week, ...], joined: str, left: str, language: str = "it") -> Chart:
    """Two columns per week (joined, left), the week's Monday under them."""
    top = max((max(w.joined, w.left) for w in weeks), default=0) or 1
    step = (WIDTH - 20) / max(len(weeks), 1)
    bars: list[Bar] = []
    labels: list[tuple[float, float, str, str]] = []
    for index, week in enumerate(weeks):
        x = 10 + index * step
        for offset, (value, colour, name) in enumerate(
            ((week.joined, COLOURS[0], joined), (week.left, COLOURS[1], left))
        ):
            height = COLUMN_HEIGHT * value / top
            bar_x = x + step * (0.15 + 0.35 * offset)
            words = f"{name}, {_day(week.start)}"
            bars.append(
                Bar(
                    round(bar_x, 1),
                    round(20 + COLUMN_HEIGHT - height, 1),
                    round(step * 0.33, 1),
                    round(height, 1),
                    colour,
                    value,
                    words,
                )  # fmt: skip
            )
            if value:
                labels.append((bar_x + step * 0.165, 20 + COLUMN_HEIGHT - height - 4, "middle",
                               thousands(value, language)))  # fmt: skip
        labels.append((x + step / 2, COLUMN_HEIGHT + 38, "middle", _day(week.start)))
    key = ((COLOURS[0], joined), (COLOURS[1], left))
    return Chart(WIDTH, COLUMN_HEIGHT + 48, tuple(bars), tuple(labels), key, 20 + COLUMN_HEIGHT)


def edition_rows(figures: EditionFigures, names: dict[str, str]) -> list[tuple[str, int]]:
    """An edition's outcome as rows for :func:`bar_rows`, named in the page's language."""
    rows = [
        (names["delivered"], figures.delivered),
        (names["failed"], figures.failed),
        (names["bounced"], figures.bounced),
        (names["complaints"], figures.complaints),
    ]
    if figures.unsubscribes_after is not None:
        rows.append((names["unsubscribes"], figures.unsubscribes_after))
    return rows


def thousands(value: int | None, language: str = "it") -> str:
    """A count as the page's language writes it: "2.027" in Italian, "2,027" in English."""
    if value is None:
        return "–"
    return f"{value:,}" if language == "en" else f"{value:,}".replace(",", ".")


def _day(day: dt.date) -> str:
    return day.strftime("%d/%m")
