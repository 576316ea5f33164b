"""Every page the office and the public meet, at a desktop's and a phone's width.

A real send through the memory transport fills the ledger and the archive; the links
in the mail that arrived lead to the subscriber's own pages. Each page is checked with
axe-core (WCAG 2.1 A and AA, zero violations) and, at 375 px, for reflow: the page is
no wider than the screen (WCAG 1.4.10). Screenshots land in /tmp/shots/tour for a
person to look at.
"""

from __future__ import annotations

import email
import email.policy
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from dispatcher.models import Delivery, Edition
from dispatcher.office.users import create_user
from dispatcher.sends.runtime import Runtime
from dispatcher.transport.memory import MemoryTransport
from dispatcher.web import create_app
from tests.support.data import add_readers_and_edition
from tests.support.sending import send_everything
from tests.support.web import assert_page_is_sound, browser_page, serve

pytestmark = pytest.mark.browser

PASSWORD = "correct horse battery staple"
SHOTS = Path("/tmp/shots/tour")
WIDTHS = (1280, 375)
LINK = re.compile(r"https?://[^\s\"<>]+")


def _links_in(data: bytes) -> list[str]:
    message = email.message_from_bytes(data, policy=email.policy.default)
    plain = message.get_body(preferencelist=("plain",))
    assert plain is not None
    return LINK.findall(plain.get_content())


def _local(url: str, base: str) -> str:
    return base + "/" + url.split("/", 3)[3]


def _visit(page: Any, url: str, name: str, problems: list[str]) -> None:
    """Look at one page at each width; what is wrong is added to ``problems``."""
    for width in WIDTHS:
        page.set_viewport_size({"width": width, "height": 900})
        response = page.goto(url)
        assert response is not None and response.status == 200, (url, response and response.status)
        SHOTS.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(SHOTS / f"{name}-{width}.png"), full_page=True)
        try:
            assert_page_is_sound(page)
        except AssertionError as problem:
            problems.append(f"{name} at {width} px: {problem}")


def _public_pages(base: str, links: list[str], slug: str, number: int) -> dict[str, str]:
    personal = {
        "preferences": next(u for u in links if "/p/" in u),
        "leave": next(u for u in links if "/u/" in u),
    }
    pages = {
        "public-home": f"{base}/?lang=it",
        "signup": f"{base}/iscriviti?lang=it",
        "signup-en": f"{base}/iscriviti?lang=en",
        "manage": f"{base}/gestione-iscrizione?lang=it",
        "privacy": f"{base}/privacy?lang=it",
        "archive": f"{base}/archive/{slug}?lang=it",
        "web-version": f"{base}/archive/{slug}/{number}?lang=it",
        "login": f"{base}/login?lang=it",
    }
    pages.update({name: _local(url, base) for name, url in personal.items()})
    return pages


def _admin_pages(base: str, edition_id: int, subscriber_id: int) -> dict[str, str]:
    return {
        "desk": f"{base}/admin",
        "edition": f"{base}/admin/editions/{edition_id}",
        "preview": f"{base}/admin/editions/{edition_id}/preview",
        "source": f"{base}/admin/editions/{edition_id}/source",
        "new-edition": f"{base}/admin/editions/new",
        "images": f"{base}/admin/images",
        "calendar": f"{base}/admin/calendar",
        "audit": f"{base}/admin/audit",
        "people": f"{base}/admin/subscribers?q=lettore",
        "person": f"{base}/admin/subscribers/{subscriber_id}",
        "newsletter": f"{base}/admin/lists/cronache",
        "console": f"{base}/console",
    }


def _web_version_is_a_page_of_the_site(page: Any, base: str, number: int) -> None:
    page.goto(f"{base}/archive/cronache/{number}?lang=it")
    assert "Leggi nel browser" not in page.inner_text("body")
    page.click("header >> text=Tutti i numeri di")
    page.wait_for_url(f"{base}/archive/cronache")
    assert page.inner_text("h1").startswith("Archivio di")


def test_every_page_is_accessible_and_reflows_on_a_phone(
    make_runtime: Callable[..., Runtime],
    memory: MemoryTransport,
    pg_sessions: sessionmaker[Session],
) -> None:
    runtime = make_runtime()
    with runtime.sessions.begin() as session:
        edition_id = add_readers_and_edition(session, runtime.settings, 4)
        create_user(session, "segreteria", PASSWORD, "admin")
    (first, *_) = send_everything(runtime, memory, edition_id)
    with pg_sessions() as session:
        row = session.scalars(select(Delivery).order_by(Delivery.id).limit(1)).one()
        number = session.get_one(Edition, edition_id).number
    app = create_app(runtime.settings, sessions=pg_sessions)
    with serve(app) as base, browser_page() as opened:
        page: Any = opened
        problems: list[str] = []
        links = _links_in(first.data)
        for name, url in _public_pages(base, links, "cronache", number).items():
            _visit(page, url, name, problems)
        _web_version_is_a_page_of_the_site(page, base, number)
        page.goto(f"{base}/login?lang=it")
        page.fill("#username", "segreteria")
        page.fill("#password", PASSWORD)
        page.click("button[type=submit]")
        page.wait_for_url(f"{base}/admin")
        for name, url in _admin_pages(base, edition_id, row.subscriber_id).items():
            _visit(page, url, name, problems)
    assert not problems, "\n".join(problems)
