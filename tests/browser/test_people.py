"""Finding a person and reading what they received, in Chromium, on a phone's width.

A real send through the memory transport fills the ledger; the admin logs in at
375 px, searches by the start of the name, opens the person and reads the server's
reply; neither page is wider than the screen (WCAG 1.4.10: reflow).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from dispatcher.models import Delivery
from dispatcher.office.users import create_user
from dispatcher.sends.runtime import Runtime
from dispatcher.transport.memory import MemoryTransport
from dispatcher.web import create_app
from tests.support.data import add_readers_and_edition, address
from tests.support.sending import send_everything
from tests.support.web import browser_page, serve

pytestmark = pytest.mark.browser

PASSWORD = "correct horse battery staple"
PHONE = 375


def _no_wider_than_the_screen(page: Any) -> None:
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= PHONE, (page.url, width)


def test_an_admin_finds_a_person_on_a_phone_and_reads_what_the_server_said(
    make_runtime: Callable[..., Runtime],
    memory: MemoryTransport,
    pg_sessions: sessionmaker[Session],
) -> None:
    runtime = make_runtime()
    with runtime.sessions.begin() as session:
        edition_id = add_readers_and_edition(session, runtime.settings, 3)
        create_user(session, "segreteria", PASSWORD, "admin")
    send_everything(runtime, memory, edition_id)
    with pg_sessions() as session:
        row = session.scalars(select(Delivery).order_by(Delivery.id).limit(1)).one()
    app = create_app(runtime.settings, sessions=pg_sessions)
    with serve(app) as base, browser_page() as opened:
        page: Any = opened
        page.set_viewport_size({"width": PHONE, "height": 800})
        page.goto(f"{base}/login?lang=it")
        page.fill("#username", "segreteria")
        page.fill("#password", PASSWORD)
        page.click("button[type=submit]")
        page.wait_for_url(f"{base}/admin")
        page.click("text=Persone")
        page.fill("#q", "LETTORE 0")
        page.click("form[role=search] button")
        _no_wider_than_the_screen(page)
        page.click(f"text={address(0)}")
        page.wait_for_url(f"{base}/admin/subscribers/{row.subscriber_id}")
        assert f"queued as MEM{row.id}" in page.inner_text("#deliveries")
        _no_wider_than_the_screen(page)
