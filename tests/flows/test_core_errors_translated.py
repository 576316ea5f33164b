"""Errors and findings from the core reach the page in the reader's language, without CLI advice.

The core raises English messages (the command line prints them, advice included); the
web pages show the text of each error's key from the catalogues instead.
"""

from __future__ import annotations

import re

import pytest

from dispatcher.preflight import PreflightReport
from dispatcher.preflight.checks import check_size
from tests.support.admin import Desk, fake_preflight
from tests.support.data import EDITION_FILE

pytestmark = pytest.mark.usefixtures("quick_preflight")

SOURCE = EDITION_FILE.read_text(encoding="utf-8")
NOT_A_NUMBER = SOURCE.replace("number: 44", "number: quarantaquattro")  # line 5
BLOCK = {"starts": "2099-07-03T09:00", "ends": "2099-07-03T12:00", "reason": "Elezioni"}
INSIDE = {"lists": "cronache", "at": "2099-07-03T10:00"}
LATER = {"lists": "cronache", "at": "2099-07-10T10:00"}
CLI_ADVICE = re.compile(r"\s--[a-z]|dispatcher [a-z]+ ")


def problem_of(page: str) -> str:
    """The text of the page's problem box, tags and blanks removed."""
    found = re.search(r'<div class="problem"[^>]*>(.*?)</div>', page, re.S)
    assert found, page[:2000]
    return " ".join(re.sub(r"<[^>]+>", " ", found.group(1)).split())


def test_an_edition_parse_error_is_shown_in_the_page_language(desk: Desk, newsletter: int) -> None:
    with desk.client("editor") as editor:
        italian = editor.post("/admin/editions?lang=it", {"source": NOT_A_NUMBER})
        english = editor.post("/admin/editions?lang=en", {"source": NOT_A_NUMBER})
    assert italian.status_code == english.status_code == 400
    said = problem_of(italian.text)
    assert "Riga 5." in said and "Campo «number»." in said
    assert "«quarantaquattro» non è un numero intero maggiore di zero" in said
    assert "not a whole number" not in said and not CLI_ADVICE.search(said)
    said = problem_of(english.text)
    assert "Line 5." in said and "“quarantaquattro” is not a whole number above zero" in said


def test_a_preflight_finding_is_shown_in_the_page_language(
    desk: Desk, edition_id: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    clipped: PreflightReport = check_size("x" * 120_000)  # the real check, its real finding
    fake_preflight(monkeypatch, errors=tuple(clipped.errors))
    with desk.client("editor") as editor:
        italian = editor.http.get(f"/admin/editions/{edition_id}?lang=it").text
        english = editor.http.get(f"/admin/editions/{edition_id}?lang=en").text
    errors = re.search(r'<ul class="preflight-errors">(.*?)</ul>', italian, re.S)
    assert errors and "Gmail taglia i messaggi oltre 102400 byte" in errors.group(1)
    assert "Gmail clips" not in errors.group(1)
    errors = re.search(r'<ul class="preflight-errors">(.*?)</ul>', english, re.S)
    assert errors and "Gmail clips messages over 102400 bytes" in errors.group(1)


def test_a_calendar_block_refusal_is_shown_in_the_page_language(
    desk: Desk, edition_id: int
) -> None:
    desk.approve(edition_id)
    with desk.client("admin") as admin:
        assert admin.post("/admin/calendar/blocks", BLOCK).status_code == 303
    with desk.client("approver") as approver:
        italian = approver.post(f"/admin/editions/{edition_id}/sends?lang=it", INSIDE)
        english = approver.post(f"/admin/editions/{edition_id}/sends?lang=en", INSIDE)
    assert italian.status_code == english.status_code == 409
    said = problem_of(italian.text)
    assert "periodo bloccato fino al 03/07/2099 12:00 (Elezioni)" in said
    assert "Primo momento consentito: 03/07/2099 12:00" in said
    assert "calendar block" not in said and not CLI_ADVICE.search(said)
    said = problem_of(english.text)
    assert "a blocked period until 03/07/2099 12:00 (Elezioni)" in said


def test_a_duplicate_send_refusal_is_shown_without_cli_advice(desk: Desk, edition_id: int) -> None:
    desk.approve(edition_id)
    with desk.client("approver") as approver:
        first = approver.post(f"/admin/editions/{edition_id}/sends", INSIDE)
        italian = approver.post(f"/admin/editions/{edition_id}/sends?lang=it", LATER)
        english = approver.post(f"/admin/editions/{edition_id}/sends?lang=en", LATER)
    assert first.status_code == 303
    assert italian.status_code == english.status_code == 409
    said = problem_of(italian.text)
    assert "Questa edizione è già stata inviata a: cronache." in said
    assert "--again" not in italian.text and not CLI_ADVICE.search(said)
    said = problem_of(english.text)
    assert "This edition was already sent to: cronache." in said
    assert "--again" not in english.text and not CLI_ADVICE.search(said)


def test_an_error_without_a_text_shows_a_general_sentence_and_its_english_detail() -> None:
    from dispatcher.errors import StateError
    from dispatcher.web.errors import explain

    shown = explain(StateError("something new went wrong"), "problem.other")
    assert shown["key"] == "problem.other" and shown["detail"] == "something new went wrong"
    shown = explain(StateError("send 3 is paused").coded("send.not_paused", send=3))
    assert shown == {
        "key": "send.not_paused",
        "values": {"send": 3},
        "detail": "",
        "where": {"file": None, "line": None, "field": None},
        "intro": None,
    }
