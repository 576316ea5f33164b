"""The edition form: start from the previous edition, save, errors at their field, live preview."""

from __future__ import annotations

import datetime as dt
import html
import re

import pytest
from sqlalchemy import select

from dispatcher.editions.parse import parse_edition
from dispatcher.models import AuditEntry, Edition
from dispatcher.office import scheduling
from tests.support.admin import Desk

pytestmark = pytest.mark.usefixtures("quick_preflight", "newsletter")

FILLED = {
    "subject": "Cronache n. 45: il bilancio: approvato # subito",
    "preheader": "Città, è già Natale 🎄",
    "cover.title": "LA COPERTINA",
    "cover.image": "https://example.org/copertina.jpg",
    "cover.image_alt": "Una foto della copertina",
    "cover.link": "https://example.org/copertina",
    "highlights[1].title": "Prima notizia: «breve»",
    "highlights[2].title": "",
    "articles[1].title": "Il primo articolo",
    "articles[1].body": "Testo con **grassetto** e un [link](https://example.org).\r\n",
    "articles[1].initials": "a.r.a.",
}


def form_of(page: str) -> dict[str, str]:
    """The values of a form page's inputs and textareas (enough for these tests)."""
    values = {
        name: value
        for name, value in re.findall(
            r'<input type="[a-z]+" class="form-control" id="[^"]+" '
            r'name="([^"]+)" value="([^"]*)"',
            page,
        )
    }
    values.update(re.findall(r'type="hidden" name="(newsletter)" value="([^"]*)"', page))
    values.update(re.findall(r'name="(articles\[\d+\]\.body)"[^>]*>([^<]*)</textarea>', page))
    return {name: html.unescape(value) for name, value in values.items()}


def test_a_new_edition_starts_from_the_previous_one_and_saves(desk: Desk, edition_id: int) -> None:
    with desk.client("editor") as editor:
        page = editor.http.get(f"/admin/editions/{edition_id}/next").text
        assert 'name="number" value="45"' in page
        assert 'value="Cronache da Palazzo Cisterna n. 45: "' in page
        date = re.search(r'name="date" value="([\d-]+)"', page)
        assert date and dt.date.fromisoformat(date.group(1)) > dt.date(2024, 12, 6)
        form = {**form_of(page), **FILLED}
        answer = editor.post(f"/admin/editions/{edition_id}/next", form)
        assert answer.status_code == 303, answer.text
        new_id = int(answer.headers["location"].rsplit("/", 1)[1])
        source = editor.http.get(f"/admin/editions/{new_id}/source").text
    with desk.sessions() as session:
        edition = session.get_one(Edition, new_id)
        content = parse_edition(edition.source, "x")
        assert content.number == 45 and content.subject == FILLED["subject"]
        assert content.preheader == FILLED["preheader"]
        assert [h.title for h in content.highlights] == ["Prima notizia: «breve»"]
        assert (
            content.articles[0].body == "Testo con **grassetto** e un [link](https://example.org)."
        )
        entry = session.scalars(select(AuditEntry).where(AuditEntry.target_id == new_id)).one()
        assert entry.action == "edition.add" and entry.detail["via"] == "form"
    assert "Testo con **grassetto**" in source


def test_a_bad_field_is_shown_in_italian_at_the_field(desk: Desk, edition_id: int) -> None:
    with desk.client("editor") as editor:
        page = editor.http.get(f"/admin/editions/{edition_id}/form").text
        form = {**form_of(page), "cover.link": "www.example.org/senza-schema"}
        answer = editor.post(f"/admin/editions/{edition_id}/form", form)
    assert answer.status_code == 400
    field = answer.text.split('id="f-cover-link"')[1][:600]
    assert 'aria-invalid="true"' in field
    assert "deve cominciare con https://" in field


def test_an_article_error_points_at_its_line(desk: Desk, edition_id: int) -> None:
    with desk.client("editor") as editor:
        page = editor.http.get(f"/admin/editions/{edition_id}/form").text
        body = "Riga uno.\n\nRiga tre con ![](https://example.org/x.jpg) senza descrizione."
        form = {**form_of(page), "articles[1].body": body}
        answer = editor.post(f"/admin/editions/{edition_id}/form", form)
    assert answer.status_code == 400
    assert 'data-error-line="3"' in answer.text
    assert "non ha testo alternativo" in answer.text and "riga 3 del testo" in answer.text


def test_the_live_preview_renders_the_form_or_names_the_field(desk: Desk, edition_id: int) -> None:
    with desk.client("editor") as editor:
        page = editor.http.get(f"/admin/editions/{edition_id}/form").text
        form = {**form_of(page), "articles[1].body": "Appena scritto: **nuovo**."}
        shown = editor.post("/admin/editor/preview", form).json()
        assert "<strong>nuovo</strong>" in shown["html"]
        broken = editor.post("/admin/editor/preview", {**form, "subject": ""}).json()
    assert broken["errors"][0]["field"] == "f-subject"
    assert broken["errors"][0]["message"] == "Oggetto dell'email: è vuoto: va compilato."


def test_saving_the_form_unchanged_keeps_the_approval(desk: Desk, edition_id: int) -> None:
    desk.approve(edition_id)
    with desk.client("editor") as editor:
        page = editor.http.get(f"/admin/editions/{edition_id}/form").text
        answer = editor.post(f"/admin/editions/{edition_id}/form", form_of(page))
        assert answer.status_code == 303, answer.text
        shown = editor.http.get(answer.headers["location"]).text
    assert 'data-approval="current"' in shown


def test_the_next_date_is_the_next_allowed_slot(desk: Desk, edition_id: int) -> None:
    with desk.sessions.begin() as session:
        scheduling.set_weekly_slot(session, "cronache", (4, dt.time(10, 0)), "admin")
    with desk.client("editor") as editor:
        page = editor.http.get(f"/admin/editions/{edition_id}/next").text
    date = re.search(r'name="date" value="([\d-]+)"', page)
    assert date and dt.date.fromisoformat(date.group(1)).weekday() == 4


def test_a_number_already_taken_is_refused_at_the_number(desk: Desk, edition_id: int) -> None:
    with desk.client("editor") as editor:
        page = editor.http.get(f"/admin/editions/{edition_id}/next").text
        form = {**form_of(page), **FILLED, "number": "44"}
        answer = editor.post(f"/admin/editions/{edition_id}/next", form)
        created = editor.post(f"/admin/editions/{edition_id}/next", {**form, "number": "45"})
        new_id = int(created.headers["location"].rsplit("/", 1)[1])
        edited = editor.post(f"/admin/editions/{new_id}/form", form)  # 45 renumbered 44
    for refused in (answer, edited):
        assert refused.status_code == 400
        field = refused.text.split('id="f-number"')[1][:400]
        assert "ha già un&#39;edizione con questo numero" in field
    with desk.sessions() as session:
        assert sorted(session.scalars(select(Edition.number))) == [44, 45]


def test_an_edition_prepared_ahead_is_followed_a_slot_later(desk: Desk, edition_id: int) -> None:
    with desk.sessions.begin() as session:
        scheduling.set_weekly_slot(session, "cronache", (4, dt.time(10, 0)), "admin")
    ahead = dt.date.today() + dt.timedelta(days=30)
    with desk.client("editor") as editor:
        page = editor.http.get(f"/admin/editions/{edition_id}/next").text
        created = editor.post(
            f"/admin/editions/{edition_id}/next", {**form_of(page), **FILLED, "date": str(ahead)}
        )
        new_id = int(created.headers["location"].rsplit("/", 1)[1])
        page = editor.http.get(f"/admin/editions/{new_id}/next").text
    assert 'name="number" value="46"' in page
    date = re.search(r'name="date" value="([\d-]+)"', page)
    assert date
    following = dt.date.fromisoformat(date.group(1))
    assert following.weekday() == 4 and ahead < following <= ahead + dt.timedelta(days=7)
