"""Reading CSV files as the office saves them: encodings, delimiters, headers, line numbers."""

from __future__ import annotations

import codecs
import re
from pathlib import Path

import pytest
from email_validator import validate_email

from subscribers.addresses import normalise
from subscribers.attributes import normalise_language, parse_sections
from subscribers.csvfile import (
    Field,
    detect_delimiter,
    guard_cell,
    header_key,
    parse_csv,
    unguard_cell,
)
from subscribers.csvtext import decode
from subscribers.errors import ImportFileError, InvalidAddressError

NAME = Path("people.csv")


def lines_and_emails(data: bytes) -> list[tuple[int, str]]:
    return [(r.line, r.values[Field.EMAIL]) for r in parse_csv(data, NAME).records]


# --- encodings -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("data", "encoding"),
    [
        ("email\nnicolò@example.org\n".encode(), "utf-8"),
        (codecs.BOM_UTF8 + "email\nzoë@example.org\n".encode(), "utf-8-sig"),
        ("email;nome\nx@example.org;Nicolò\n".encode("cp1252"), "cp1252"),
        ("email\tnome\nx@example.org\tZoë\n".encode("utf-16"), "utf-16"),
        # 0x81 is undefined in cp1252 (one stray byte in a text file)
        (b"email;nome\n" + b"x@example.org;Rossi\n" * 10 + b"y@example.org;\x81\xe0\n", "latin-1"),
    ],
)
def test_the_encoding_is_detected_and_reported(data: bytes, encoding: str) -> None:
    assert decode(data, NAME)[1] == encoding


def test_a_latin1_file_reads_right_as_cp1252() -> None:
    text, encoding = decode("nome\nJosé García, Ågnes Hølm\n".encode("latin-1"), NAME)
    assert (encoding, text.splitlines()[1]) == ("cp1252", "José García, Ågnes Hølm")


def test_the_bom_is_not_part_of_the_first_header() -> None:
    source = parse_csv(codecs.BOM_UTF8 + b"email;nome\na@example.org;A\n", NAME)
    assert source.columns == {Field.EMAIL: "email", Field.NAME: "nome"}


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"", "empty"),
        (b"  \r\n", "empty"),
        (bytes(range(256)) * 4, "binary data"),
        (b"PK\x03\x04\x14\x00\x06\x00", "Excel workbook (.xlsx)"),
        (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1", "old Excel workbook (.xls)"),
        (b"%PDF-1.7\n", "PDF"),
        (b"email\nx@example.org\x00\n", "binary data"),
    ],
)
def test_files_that_are_not_csv_text_are_refused_at_line_1(data: bytes, message: str) -> None:
    with pytest.raises(ImportFileError, match=rf"^people\.csv:1: .*{re.escape(message)}"):
        parse_csv(data, NAME)


def test_garbage_file_from_the_samples_is_refused() -> None:
    path = Path(__file__).parents[1] / "data" / "csv" / "garbage.bin"
    with pytest.raises(ImportFileError, match=r"garbage\.bin:1: binary data"):
        parse_csv(path.read_bytes(), path)


# --- delimiters ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "delimiter"),
    [
        ("email;nome\na@example.org;A\n", ";"),
        ("email,nome\na@example.org,A\n", ","),
        ("email\tnome\na@example.org\tA\n", "\t"),
        ('"Nome, Cognome";email\n"Rossi, Mario";a@example.org\n', ";"),
        ("email\na@example.org;Mario\n", ";"),  # one header cell: the data tells
        ("email\na@example.org\n", ";"),  # nothing tells: Italian Excel's
    ],
)
def test_the_delimiter_is_the_one_that_splits_header_and_data(text: str, delimiter: str) -> None:
    assert detect_delimiter(text) == delimiter


def test_excel_sep_line_sets_the_delimiter_and_counts_as_a_line() -> None:
    source = parse_csv(b"sep=,\nemail,nome\na@example.org,A;B\n", NAME)
    assert source.delimiter == ","
    assert [(r.line, r.values[Field.NAME]) for r in source.records] == [(3, "A;B")]


# --- headers -------------------------------------------------------------------------------------


#: Headers seen in real files, with the field they name.
HEADERS = [
    (Field.EMAIL, ["email", " E-Mail ", "mail", "Posta elettronica"]),
    (Field.EMAIL, ["Indirizzo e-mail", "INDIRIZZO EMAIL"]),
    (Field.NAME, ["Nome e Cognome", "full_name", "Nome"]),
    (Field.SURNAME, ["Cognome"]),
    (Field.LANGUAGE, ["Lingua", "language"]),
    (Field.SECTIONS, ["Sezioni"]),
]


@pytest.mark.parametrize(
    ("cell", "field"), [(cell, field) for field, cells in HEADERS for cell in cells]
)
def test_headers_in_italian_or_english_are_recognised(cell: str, field: Field) -> None:
    source = parse_csv(f"{cell};x\n".encode(), NAME) if field is Field.EMAIL else None
    if source is not None:
        assert source.columns[Field.EMAIL] == cell.strip()
    from subscribers.csvfile import HEADER_FIELDS

    assert HEADER_FIELDS[header_key(cell)] is field


def test_header_keys_ignore_accents_case_spaces_and_dashes() -> None:
    assert header_key("  Lìngua-Preferita ") == "linguapreferita"


def test_unknown_and_repeated_columns_are_reported_as_ignored() -> None:
    source = parse_csv(b"email;Telefono;E-mail;Note\na@example.org;1;b@example.org;x\n", NAME)
    assert source.ignored == ("Telefono", "E-mail", "Note")
    assert source.records[0].values == {Field.EMAIL: "a@example.org"}


def test_no_email_column_names_the_file_and_line_1() -> None:
    with pytest.raises(ImportFileError, match=r"^people\.csv:1: no email column .*'nome'"):
        parse_csv(b"nome;cognome\nMario;Rossi\n", NAME)


def test_a_file_without_header_gets_a_hint() -> None:
    with pytest.raises(ImportFileError, match="looks like data"):
        parse_csv(b"mario@example.org;Mario\n", NAME)


# --- line numbers --------------------------------------------------------------------------------


def test_line_numbers_count_physical_lines_of_multi_line_quoted_fields() -> None:
    data = (
        b'email,name\r\na@example.org,"two\r\nlines"\r\n\r\n'
        b'b@example.org,"three\nlines\nhere"\nc@example.org,C\n'
    )
    assert lines_and_emails(data) == [
        (2, "a@example.org"),
        (5, "b@example.org"),
        (8, "c@example.org"),
    ]


def test_blank_lines_and_excel_empty_rows_are_skipped_but_counted() -> None:
    data = b"\r\nemail;nome\r\n\r\n;;\r\na@example.org;A\r\n   \r\nb@example.org;B\r\n"
    assert lines_and_emails(data) == [(5, "a@example.org"), (7, "b@example.org")]


def test_short_rows_get_empty_values() -> None:
    source = parse_csv(b"email;nome;lingua\na@example.org\n", NAME)
    assert source.records[0].values == {
        Field.EMAIL: "a@example.org",
        Field.NAME: "",
        Field.LANGUAGE: "",
    }


# --- values --------------------------------------------------------------------------------------


#: An address as files hold it -> as it is stored.
CLEANED = {
    "  Mario.Rossi@Example.ORG ": "Mario.Rossi@example.org",
    "<mario@example.org>": "mario@example.org",
    "mailto:mario@example.org": "mario@example.org",
    "\u200bmario@example.org\xa0": "mario@example.org",
    "nicolò@example.org": "nicolò@example.org",
}


@pytest.mark.parametrize(("raw", "expected"), CLEANED.items())
def test_addresses_are_cleaned_and_normalised(raw: str, expected: str) -> None:
    assert normalise(raw) == expected


@pytest.mark.parametrize(
    "address",
    [
        "a.b-c+d@example.org",
        "x@EXAMPLE.ORG",
        "o'hara@example.ie",
        "x@bücher.de",
        "x@xn--bcher-kva.de",
        "very.long." + "x" * 60 + "@example.org",
        "x@" + "a" * 64 + ".org",
        "x@example.invalid",
        "x@localhost",
        ".x@example.org",
        "x.@example.org",
        "x@-example.org",
        "x@example..org",
    ],
)
def test_the_fast_path_agrees_with_email_validator(address: str) -> None:
    try:  # the canonical form: the domain as an A-label (subscribers.addresses)
        valid = validate_email(address, check_deliverability=False)
        expected: str | None = f"{valid.local_part}@{valid.ascii_domain}"
    except Exception:
        expected = None
    try:
        got: str | None = normalise(address)
    except InvalidAddressError:
        got = None
    assert got == expected


def test_formula_cells_are_guarded_on_export_and_unguarded_on_import() -> None:
    for text in ("=HYPERLINK(1)", "+39 011", "-x", "@SUM(A1)"):
        assert guard_cell(text) == "'" + text
        assert unguard_cell(guard_cell(text)) == text
    assert guard_cell("Mario") == unguard_cell("Mario") == "Mario"
    assert unguard_cell("'Mario") == "'Mario"


@pytest.mark.parametrize(
    ("raw", "code"),
    [("it", "it"), ("IT", "it"), ("it-IT", "it"), ("en_GB", "en"), ("Inglese", "en"),
     ("italiano", "it"), ("klingon", None), ("", None)],
)  # fmt: skip
def test_languages_are_normalised_to_two_letter_codes(raw: str, code: str | None) -> None:
    assert normalise_language(raw) == code


def test_sections_are_split_and_folded() -> None:
    assert parse_sections("Ambiente, trasporti|CULTURA\n ambiente") == [
        "ambiente",
        "cultura",
        "trasporti",
    ]
