"""Lists, imports and figures in Chromium, as the role that does each, at 1280 and 375 px.

An admin creates a list, fills its newsletter settings, changes those of a newsletter
with an approved edition and reads the warning before saving; an admin imports a
dirty CSV file and downloads the row report; an editor reads the figures after a
real send. Every page visited is checked by axe-core and, on a phone, for reflow.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from dispatcher.models import ImportJob
from dispatcher.office import imports
from dispatcher.sends.runtime import Runtime
from dispatcher.transport.memory import MemoryTransport
from subscribers.service import get_list
from tests.support.admin import PASSWORD, Desk
from tests.support.data import (
    add_example_edition,
    add_import_lists,
    add_readers_and_edition,
    create_newsletter,
)
from tests.support.sending import send_everything
from tests.support.web import AXE_SOURCE, assert_page_is_sound, browser_page, serve

pytestmark = pytest.mark.browser

DATA = Path(__file__).parents[1] / "data" / "csv"
WIDTHS = (1280, 375)
SHOTS = Path("/tmp/shots")


def log_in(page: Any, base: str, username: str, width: int) -> None:
    page.set_viewport_size({"width": width, "height": 900})
    page.goto(f"{base}/login?lang=it")
    page.fill("#username", username)
    page.fill("#password", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url(f"{base}/admin")


def sound(page: Any, name: str, width: int) -> None:
    """axe and reflow on the page as shown, and a screenshot to look at.

    axe-core is loaded through the DevTools protocol first: the pages' CSP refuses the
    inline script tag the shared helper would add (it then finds axe already there).
    """
    page.evaluate(AXE_SOURCE.read_text(encoding="utf-8") + "\n;true")
    assert_page_is_sound(page)
    SHOTS.mkdir(exist_ok=True)
    page.screenshot(path=str(SHOTS / f"lists13-{name}-{width}.png"), full_page=True)


@pytest.mark.usefixtures("quick_preflight")
@pytest.mark.parametrize("width", WIDTHS)
def test_an_admin_creates_a_list_and_is_warned_before_undoing_an_approval(
    desk: Desk, width: int
) -> None:
    with desk.sessions.begin() as session:
        create_newsletter(session)
        edition_id = add_example_edition(session, desk.settings)
    desk.approve(edition_id)
    with serve(desk.app) as base, browser_page() as opened:
        page: Any = opened
        log_in(page, base, "admin", width)
        page.click("nav >> text=Liste")
        page.wait_for_url(f"{base}/admin/lists")
        sound(page, "lists", width)
        page.fill("#slug", "eventi")
        page.fill("#name", "Eventi in città")
        page.click("text=Crea la lista")
        page.wait_for_url(f"{base}/admin/lists/eventi/settings")
        sound(page, "settings-new", width)
        fill_settings(page)
        page.fill("#f-colours-text", "#999999")  # too pale on white: refused
        page.click("text=Controlla e continua")
        assert "Testo" in page.inner_text("#settings-problem")
        assert page.get_attribute("#f-colours-text", "aria-invalid") == "true"
        sound(page, "settings-refused", width)
        page.fill("#f-colours-text", "#1f1f1f")
        page.click("text=Controlla e continua")
        assert "Nessuna edizione approvata" in page.inner_text("#impact")
        sound(page, "settings-confirm-new", width)
        page.click("text=Salva le impostazioni")
        page.wait_for_url(f"{base}/admin/lists/eventi")
        sound(page, "list-page", width)

        page.goto(f"{base}/admin/lists/cronache/settings")
        page.fill("#f-from_name", "Ufficio stampa della Città metropolitana")
        page.click("text=Controlla e continua")
        warning = page.inner_text("#impact")
        assert "farà tornare da approvare 1 edizione già approvata" in warning
        sound(page, "settings-confirm-warning", width)
        page.click("text=Salva, e riporta 1 edizione da approvare")
        page.wait_for_url(f"{base}/admin/lists/cronache")
        assert "edizioni da approvare di nuovo: 1" in page.inner_text("main")
        sound(page, "list-saved", width)
    with desk.sessions() as session:
        assert get_list(session, "eventi").settings["masthead_title"] == "Eventi"
        assert get_list(session, "cronache").settings["from_name"].startswith("Ufficio stampa")


def fill_settings(page: Any) -> None:
    page.fill("#f-from_name", "Eventi")
    page.fill("#f-from_address", "eventi@cittametropolitana.torino.it")
    page.fill("#f-list_id", "eventi.cittametropolitana.torino.it")
    page.fill("#f-masthead_title", "Eventi")
    page.fill("#f-masthead_subtitle", "Cosa succede in città")
    page.fill("#f-legal_footer", "Editore: Città metropolitana di Torino")


@pytest.mark.parametrize("width", WIDTHS)
def test_an_admin_imports_a_dirty_file_and_downloads_the_report(
    desk: Desk, width: int, tmp_path: Path
) -> None:
    with desk.sessions.begin() as session:
        add_import_lists(session)
    dirty = tmp_path / "iscritti.csv"  # Italian Excel's: BOM, semicolons, dirty lines; large
    lines = (DATA / "utf8_bom_semicolon_italian.csv").read_bytes()
    extra = "".join(f"persona{i}@example.org;Persona;{i};it\r\n" for i in range(20_000))
    dirty.write_bytes(lines + extra.encode())
    with serve(desk.app) as base, browser_page() as opened:
        page: Any = opened
        log_in(page, base, "admin", width)
        page.click("nav >> text=Importa")
        page.wait_for_url(f"{base}/admin/import")
        sound(page, "import", width)
        page.set_input_files("#file", str(dirty))
        page.select_option("#list_slug", "cronache")
        page.click("label[for=confirmed]")
        assert page.is_checked("#confirmed")
        page.click("text=Carica e controlla")
        page.wait_for_url(re.compile(rf"{base}/admin/import/\d+$"))
        assert page.inner_text("#encoding") == "UTF-8 con BOM"
        assert page.inner_text("#delimiter") == "punto e virgola (;)"
        assert "indirizzo email" in page.inner_text("#mapping")
        sound(page, "import-layout", width)
        page.click("#start")
        page.wait_for_selector("#outcome", timeout=60_000)
        assert "20.003 importati" in page.inner_text("#outcome")
        sound(page, "import-report", width)
        with page.expect_download() as download:
            page.click("#download")
        report = Path(download.value.path()).read_text(encoding="utf-8-sig")
    rows = list(csv.reader(io.StringIO(report), delimiter=";"))
    assert rows[0] == ["Riga", "Esito", "Motivo", "Dettaglio"]
    assert ["5", "scartata", "indirizzo non valido"] == rows[1][:3]
    with desk.sessions() as session:
        assert session.scalars(select(ImportJob.state)).one() == "done"


@pytest.mark.parametrize("width", WIDTHS)
def test_an_editor_reads_the_figures_after_a_real_send(
    desk: Desk, make_runtime: Callable[..., Runtime], memory: MemoryTransport, width: int
) -> None:
    runtime = make_runtime()
    with runtime.sessions.begin() as session:
        edition_id = add_readers_and_edition(session, runtime.settings, 5)
        create_newsletter(session, "eventi")
    send_everything(runtime, memory, edition_id)
    with serve(desk.app) as base, browser_page() as opened:
        page: Any = opened
        log_in(page, base, "editor", width)
        assert "n. 44" in page.inner_text("#editions-figures")
        sound(page, "desk-figures", width)
        page.goto(f"{base}/admin/editions/{edition_id}")
        figures = page.inner_text("#edition-figures-table")
        assert re.search(r"Consegnati\s+5", figures), figures
        sound(page, "edition-figures", width)
        page.click("nav >> text=Liste")
        assert "5" in page.inner_text("#lists")
        sound(page, "lists-editor", width)
        page.click("#lists >> text=Cronache da Palazzo Cisterna")
        page.wait_for_url(f"{base}/admin/lists/cronache")
        assert "5 confermati" in page.inner_text("#list-counts")
        sound(page, "list-figures", width)
        page.goto(f"{base}/admin/lists/cronache/settings")
        assert page.is_disabled("#f-from_name")
        sound(page, "settings-read-only", width)


@pytest.mark.parametrize("width", WIDTHS)
def test_the_import_page_follows_the_progress_until_the_report(desk: Desk, width: int) -> None:
    with desk.sessions.begin() as session:
        add_import_lists(session)
        data = "email\n" + "".join(f"p{i}@example.org\n" for i in range(10_000))
        job_id = imports.upload(session, "cronache", "grande.csv", data.encode(), False, "admin").id
        imports.start(session, job_id, "admin")  # running: as if the web process had begun it
    with serve(desk.app) as base, browser_page() as opened:
        page: Any = opened
        log_in(page, base, "admin", width)
        page.goto(f"{base}/admin/import/{job_id}")
        assert page.inner_text("#progress-text") == "0 di 10.000 righe elaborate"
        sound(page, "import-progress", width)
        with desk.sessions.begin() as session:
            session.get_one(ImportJob, job_id).done = 4000
        page.wait_for_selector("#progress-text:has-text('4.000 di 10.000')")  # polled, no reload
        assert page.get_attribute("#import-progress", "value") == "4000"
        imports.run_import(desk.sessions, job_id, desk.settings.all_secret_keys)
        page.wait_for_selector("#outcome")  # the page reloads itself with the report
        assert "10.000 importati" in page.inner_text("#outcome")
        sound(page, "import-done", width)
