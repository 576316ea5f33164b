"""The media library: search by name or alt text, page by page; delete what nothing uses.

A picture named by an edition's source or a newsletter's logo stays, and the page says
which ones use it; a picture nothing uses goes, with an audit row, and its public
address answers 404 from then on.
"""

from __future__ import annotations

from sqlalchemy import select

from dispatcher.models import AuditEntry, Image
from dispatcher.office.edition_store import read_source, update_edition
from dispatcher.office.images import public_path, store_image
from subscribers.models import MailingList
from subscribers.service import get_list
from tests.support.admin import Desk
from tests.support.data import EDITION_FILE, add_example_edition, create_newsletter

PNG = bytes.fromhex("89504e470d0a1a0a0000000d4948445200000001000000010806000000")
COVER = "https://www.cittametropolitana.torino.it/cms/risorse/cronache/2024/44/panettone-futuri-chef.jpg"


def _pictures(desk: Desk, names: list[tuple[str, str]]) -> list[int]:
    with desk.sessions.begin() as session:
        return [store_image(session, PNG, name, alt, "editor").id for name, alt in names]


def _rows(html: str) -> int:
    return html.count("<tr data-image=")


def test_search_matches_part_of_the_name_or_the_alt_text_whatever_the_case(desk: Desk) -> None:
    _pictures(
        desk,
        [
            ("Panettone.png", "Allievi con i panettoni"),
            ("fiaccola.png", "La Fiaccola dei Giochi"),
            ("logo.png", "Il logo della Città metropolitana"),
            ("100_percento.png", "Cento per cento"),
        ],
    )
    with desk.client("operator") as reader:
        for query, expected in (
            ("PANETT", 1),
            ("giochi", 1),
            ("città", 1),
            ("", 4),
            ("%", 0),
            ("_", 1),
            ("nessuna", 0),
        ):
            page = reader.http.get("/admin/images", params={"q": query, "lang": "it"})
            assert page.status_code == 200
            assert _rows(page.text) == expected, query
        assert "Nessuna immagine corrisponde" in reader.http.get("/admin/images?q=zzz").text
        too_long = reader.http.get("/admin/images", params={"q": "x" * 201})
        assert too_long.status_code == 400


def test_the_library_is_paginated(desk: Desk) -> None:
    _pictures(desk, [(f"foto-{n:02}.png", f"Foto numero {n}") for n in range(25)])
    with desk.client("editor") as editor:
        first = editor.http.get("/admin/images?lang=it")
        assert _rows(first.text) == 20 and "Pagina 1 di 2" in first.text
        assert "Immagini trovate: 25." in first.text
        assert "foto-24.png" in first.text and "foto-04.png" not in first.text
        second = editor.http.get("/admin/images?page=2&lang=it")
        assert _rows(second.text) == 5 and "foto-04.png" in second.text
        past = editor.http.get("/admin/images?page=99")
        assert _rows(past.text) == 5  # the last page
        assert editor.http.get("/admin/images?page=0").status_code == 400
        assert editor.http.get("/admin/images?page=abc").status_code == 400


def test_an_unused_picture_is_deleted_and_its_address_is_gone(desk: Desk) -> None:
    (image_id,) = _pictures(desk, [("vecchia.png", "Una foto mai usata")])
    with desk.client("operator") as operator:
        assert operator.post(f"/admin/images/{image_id}/delete").status_code == 403
    with desk.client("editor") as editor:
        answer = editor.post(f"/admin/images/{image_id}/delete")
        assert answer.status_code == 303
        assert "vecchia.png eliminata" in editor.http.get("/admin/images?lang=it").text
        assert editor.http.get(f"/images/{image_id}/vecchia.png").status_code == 404
        assert editor.post(f"/admin/images/{image_id}/delete").status_code == 404
    with desk.sessions() as session:
        assert session.get(Image, image_id) is None
        entry = session.scalars(select(AuditEntry).where(AuditEntry.action == "image.delete")).one()
        assert (entry.username, entry.target_id) == ("editor", image_id)


def test_a_picture_an_edition_or_a_logo_uses_is_kept_and_the_page_names_them(desk: Desk) -> None:
    used, logo = _pictures(desk, [("copertina.png", "Panettoni"), ("logo.png", "Il logo")])
    with desk.sessions.begin() as session:
        create_newsletter(session)
        edition_id = add_example_edition(session, desk.settings)
        address = desk.settings.public_url + public_path(session.get_one(Image, used))
        source = read_source(EDITION_FILE).replace(COVER, address)
        update_edition(session, edition_id, source, str(EDITION_FILE), desk.settings)
        newsletter = session.get_one(MailingList, get_list(session, "cronache").id)
        logo_url = desk.settings.public_url + public_path(session.get_one(Image, logo))
        shown = {"url": logo_url, "alt": "Città metropolitana di Torino", "width": 120}
        newsletter.settings = {**newsletter.settings, "logo": shown}
    with desk.client("editor") as editor:
        refused = editor.post(f"/admin/images/{used}/delete?lang=it")
        assert refused.status_code == 409
        assert "la usano Cronache da Palazzo Cisterna n. 44" in refused.text
        refused = editor.post(f"/admin/images/{logo}/delete?lang=en")
        assert refused.status_code == 409
        assert "it is used by Cronache da Palazzo Cisterna." in refused.text
        assert editor.http.get(f"/images/{used}/copertina.png").status_code == 200
    with desk.sessions() as session:
        assert session.get(Image, used) is not None and session.get(Image, logo) is not None
