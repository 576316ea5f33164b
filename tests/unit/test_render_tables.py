"""Pipe tables become accessible email tables with a readable text twin, never pipes."""

from __future__ import annotations

import random

import pytest

from dispatcher.preflight import check_compiled
from dispatcher.render.text import WIDTH, markdown_to_text
from tests.unit.test_preflight import NEWSLETTER, _sample

ANCHOR = "dell'economia sociale.\n\n"
TABLE = """\
| Tavolo tematico | Partecipanti | Facilitatore |
|:----------------|-------------:|:-------------|
| Governance, procurement e partnership | 24 | a.r.a. |
| Finanza ad impatto sociale | 18 | m.fa. |
| Formazione continua | 21 | c.d. |

"""


def _with(table: str) -> tuple[str, str]:
    sample = _sample({ANCHOR: ANCHOR + table})
    return sample.html, sample.text


def test_a_table_in_an_article_is_an_html_table_with_column_headers() -> None:
    html, _ = _with(TABLE)
    assert html.count("<table") > 0 and '<th style="text-align:left;' in html
    assert html.count('scope="col"') == 3
    assert "Finanza ad impatto sociale</td>" in html
    assert "|" not in html.split("Tavolo tematico")[1].split("</table>")[0]


def test_the_text_part_lays_the_table_out_in_columns() -> None:
    _, text = _with(TABLE)
    lines = text.splitlines()
    header = next(i for i, line in enumerate(lines) if line.startswith("Tavolo tematico"))
    assert set(lines[header + 1].replace(" ", "")) == {"-"}
    assert lines[header + 2].startswith("Governance, procurement e partnership")
    assert lines[header + 2].split()[-2:] == ["24", "a.r.a."]
    assert not any(line.lstrip().startswith("|") for line in lines)


def test_a_table_too_wide_for_the_text_part_becomes_one_block_per_row() -> None:
    wide = TABLE.replace("| 24 |", "| " + "ventiquattro persone in sala " * 3 + "|")
    _, text = _with(wide)
    assert "Tavolo tematico: Governance, procurement e partnership" in text
    assert "Facilitatore: a.r.a." in text
    assert max(len(line) for line in text.splitlines() if "http" not in line) <= WIDTH


def test_the_preflight_finds_the_text_part_faithful_to_the_table() -> None:
    sample = _sample({ANCHOR: ANCHOR + TABLE})
    report = check_compiled(sample.html, sample.text, sample.eml, NEWSLETTER)
    assert not report.errors and not [f for f in report.warnings if f.code.startswith("twin")]


@pytest.mark.parametrize("seed", range(20))
def test_ragged_and_dirty_tables_never_come_out_as_pipes(seed: int) -> None:
    rng = random.Random(seed)
    columns = rng.randint(1, 6)
    rows = []
    for _ in range(rng.randint(1, 8)):
        cells = [
            rng.choice(["", "x", "`code`", "a \\| b", "**grassetto**", "è à ù", "1.234,5"])
            for _ in range(rng.randint(0, columns + 2))
        ]
        rows.append("| " + " | ".join(cells) + " |")
    head = "| " + " | ".join(f"Col {i}" for i in range(columns)) + " |"
    rule = "|" + "|".join(rng.choice(["---", ":--", "--:", ":-:"]) for _ in range(columns)) + "|"
    text = markdown_to_text("\n".join([head, rule, *rows]) + "\n")
    assert not any(line.startswith("|") for line in text.splitlines())
    assert "Col 0" in text
