"""An editor writes next week's edition in the form, at a desktop's and a phone's width.

Chromium drives the app served on 127.0.0.1: from last week's edition the editor
starts the next one (number + 1, the date of the next weekly slot), fills the
fields, picks the cover from the picture library, writes an article with the
toolbar's bold button and watches the preview frames change without a reload,
saves, and finds the text in the raw source. A wrong link is refused in Italian
at its field. The saved edition then goes through preview, proof and approval.
Every page visited is checked with axe and, at 375 px, for reflow.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from dispatcher.config import Settings
from dispatcher.models import Edition
from dispatcher.office import scheduling
from dispatcher.office.images import store_image
from dispatcher.office.users import create_user
from dispatcher.web import create_app
from tests.flows.test_admin_images import png
from tests.smtpd import SmtpServer
from tests.support.data import add_example_edition, create_newsletter
from tests.support.web import AXE_SOURCE, assert_page_is_sound, browser_page, serve

pytestmark = [pytest.mark.browser, pytest.mark.usefixtures("quick_preflight")]

PASSWORD = "correct horse battery staple"
PROOF_TO = "redazione@example.org"
FRIDAY, TEN = 4, dt.time(10, 0)
SUBJECT = "Cronache da Palazzo Cisterna n. 45: il bilancio: approvato # subito"


@pytest.fixture
def settings(make_settings: Callable[..., Settings], pg_url: str, smtpd: SmtpServer) -> Settings:
    return make_settings(database_url=pg_url, smtp_url=smtpd.url)


@pytest.fixture
def office(pg_sessions: sessionmaker[Session], settings: Settings) -> int:
    """Last week's edition (n. 44), a Friday 10:00 slot, a picture, an editor, an approver."""
    with pg_sessions.begin() as session:
        create_newsletter(session)
        edition_id = add_example_edition(session, settings)
        scheduling.set_weekly_slot(session, "cronache", (FRIDAY, TEN), "admin")
        store_image(session, png(64, 48), "Mole.png", "La Mole Antonelliana al tramonto", "admin")
        create_user(session, "redattrice", PASSWORD, "editor")
        create_user(session, "caporedattore", PASSWORD, "approver")
    return edition_id


def next_friday() -> dt.date:
    """The next Friday at 10:00 on the office's clock (the test calendar blocks no day)."""
    now = dt.datetime.now(ZoneInfo("Europe/Rome"))
    ahead = (FRIDAY - now.weekday()) % 7
    if ahead == 0 and now.time() >= TEN:
        ahead = 7
    return now.date() + dt.timedelta(days=ahead)


@pytest.mark.parametrize("width", [1280, 375])
def test_an_editor_writes_the_next_edition_in_the_form(
    settings: Settings,
    office: int,
    pg_sessions: sessionmaker[Session],
    smtpd: SmtpServer,
    width: int,
) -> None:
    app = create_app(settings, sessions=pg_sessions)
    with serve(app) as base, browser_page() as opened:
        page: Any = opened
        # The app's CSP refuses inline script, axe's injected tag too: load it with each page.
        page.add_init_script(path=str(AXE_SOURCE))
        refused: list[str] = []  # what the page's Content-Security-Policy blocked, if anything
        page.on("console", lambda m: refused.append(m.text) if "Content Security" in m.text else 0)
        page.set_viewport_size({"width": width, "height": 900})
        log_in(page, base, "redattrice")
        page.goto(f"{base}/admin/editions/{office}")
        sound(page, width, "edition-44")
        page.click("#start-next")
        page.wait_for_url(f"{base}/admin/editions/{office}/next")
        assert page.input_value("#f-number") == "45"
        assert page.input_value("#f-date") == next_friday().isoformat()
        assert page.input_value("#f-subject") == "Cronache da Palazzo Cisterna n. 45: "
        assert page.input_value("#f-articles-1-initials") == "a.r.a."
        page.wait_for_selector(".editor-toolbar button.bold")
        sound(page, width, "editor-new")

        fill_the_form(page)
        write_with_the_toolbar(page)
        page.click("#save-form")
        page.wait_for_load_state()
        assert not page.locator("#form-errors").count(), page.inner_text("#form-errors")
        page.wait_for_url(f"{base}/admin/editions/*")
        assert "Edizione n. 45 caricata." in page.inner_text(".notice")
        new_url = page.url
        sound(page, width, "edition-45")

        page.click("a[href$='/source']")
        source = page.input_value("#source")
        assert "Il bilancio è **approvato** dal Consiglio" in source
        assert "La Mole Antonelliana al tramonto" in source
        sound(page, width, "source-45")

        a_wrong_link_is_refused_at_its_field(page, new_url, width)
        preview_proof_and_approve(page, base, new_url, smtpd, width)
        assert not refused, refused  # EasyMDE and our scripts run under the app's CSP as is

    with pg_sessions() as session:
        edition = session.scalars(select(Edition).where(Edition.number == 45)).one()
        assert edition.subject == SUBJECT and edition.approved_hash == edition.compiled_hash


def sound(page: Any, width: int, name: str) -> None:
    page.screenshot(path=f"/tmp/shots/editor-{name}-{width}.png", full_page=True)
    page.screenshot(path=f"/tmp/shots/editor-{name}-{width}-top.png")
    assert_page_is_sound(page)


def log_in(page: Any, base: str, username: str) -> None:
    page.goto(f"{base}/login?lang=it")
    page.fill("#username", username)
    page.fill("#password", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url(f"{base}/admin")


def fill_the_form(page: Any) -> None:
    page.fill("#f-subject", SUBJECT)
    page.fill("#f-preheader", "Città, è già Natale 🎄 — e altro")
    page.fill("#f-cover-title", "LA MOLE AL TRAMONTO")
    page.click("button.use-image")
    assert page.input_value("#f-cover-image").startswith("https://newsletter.example.org/images/")
    assert page.input_value("#f-cover-image_alt") == "La Mole Antonelliana al tramonto"
    page.fill("#f-cover-link", "https://www.cittametropolitana.torino.it/mole")
    page.fill("#f-highlights-1-title", "Prima notizia: «breve»")
    for key in (2, 3):  # two of last week's three highlight rows are not needed
        page.locator(f"fieldset[data-key='{key}'].highlight-row button.remove-row").click()
    page.fill("#f-articles-1-title", "Il bilancio approvato")


def write_with_the_toolbar(page: Any) -> None:
    page.evaluate("window.sameDocument = true")  # gone if the page reloads
    article = page.locator(".article-row[data-key='1']")
    article.locator(".CodeMirror").click()
    page.keyboard.type("Il bilancio è ")
    bold = article.locator(".editor-toolbar button.bold")
    assert bold.get_attribute("tabindex") == "0"  # the toolbar is one tab stop
    bold.focus()
    page.keyboard.press("ArrowRight")
    assert page.evaluate("document.activeElement.getAttribute('aria-label')") == "Corsivo"
    article.locator(".CodeMirror").click()
    page.keyboard.press("End")
    bold.click()
    page.keyboard.type("approvato")
    page.keyboard.press("End")
    page.keyboard.type(" dal Consiglio.")
    phone = page.frame_locator("#live-phone")
    phone.locator("strong", has_text="approvato").first.wait_for()
    desktop = page.frame_locator("#live-desktop")
    desktop.get_by_text("LA MOLE AL TRAMONTO").first.wait_for()
    assert page.locator("#live-phone").get_attribute("srcdoc")
    assert page.evaluate("window.sameDocument === true")
    width = page.viewport_size["width"]
    article.screenshot(path=f"/tmp/shots/editor-article-{width}.png")
    page.locator(".live-preview").screenshot(path=f"/tmp/shots/editor-preview-{width}.png")
    page.evaluate("window.scrollTo(0, 0)")  # an element's screenshot leaves clicks astray


def a_wrong_link_is_refused_at_its_field(page: Any, edition_url: str, width: int) -> None:
    page.goto(edition_url)
    page.click("#edit-form")
    page.wait_for_selector(".editor-toolbar button.bold")
    page.fill("#f-cover-link", "www.cittametropolitana.torino.it/mole")
    page.click("#save-form")
    error = page.locator("#f-cover-link-error")
    assert "deve cominciare con https://" in error.inner_text()
    assert page.get_attribute("#f-cover-link", "aria-invalid") == "true"
    assert "non è stata salvata" in page.inner_text("#form-errors")
    sound(page, width, "editor-error")


def preview_proof_and_approve(
    page: Any, base: str, edition_url: str, smtpd: SmtpServer, width: int
) -> None:
    page.goto(edition_url)
    page.click("text=Anteprima")
    page.frame_locator("#preview-phone").get_by_text("LA MOLE AL TRAMONTO").first.wait_for()
    page.goto(edition_url)
    page.fill("#addresses", PROOF_TO)
    page.click("#send-proof")
    assert f"Bozza inviata a {PROOF_TO}" in page.inner_text("main")
    assert smtpd.wait_for(1, timeout=10)
    page.click("form[action='/logout'] button")
    log_in(page, base, "caporedattore")
    page.goto(edition_url)
    page.click("#approve")
    assert page.get_attribute("#edition-state", "data-state") == "approved"
    sound(page, width, "approved-45")
