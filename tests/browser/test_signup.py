"""Signing up in a real browser: the form by keyboard, the mail, the confirmation button.

The app is served on 127.0.0.1 with its confirmation mail going to a test SMTP
server; Debian's Chromium, driven by Playwright, does what a citizen does.
"""

from __future__ import annotations

import email
import email.policy
import re

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from dispatcher.config import Settings
from dispatcher.transport import create_transport
from dispatcher.web.app import create_app
from subscribers.models import Subscriber, Subscription
from tests.smtpd import SmtpServer
from tests.support.web import browser_page, serve

pytestmark = pytest.mark.browser

ADDRESS = "giulia.verdi@example.org"
# Inputs (not hidden ones) without a label, or with only an empty one.
UNLABELLED = """() => [...document.querySelectorAll('input:not([type=hidden])')]
    .filter(i => !i.labels.length || !i.labels[0].textContent.trim()).map(i => i.name)"""


def focused(page: object) -> str:
    return page.evaluate("document.activeElement.id")  # type: ignore[attr-defined,no-any-return]


def status(sessions: sessionmaker[Session]) -> str | None:
    with sessions() as session:
        return session.scalar(
            select(Subscription.status).join(Subscriber).where(Subscriber.email == ADDRESS)
        )


def test_a_citizen_signs_up_and_confirms_in_the_browser(
    smtp_settings: Settings, pg_sessions: sessionmaker[Session], smtpd: SmtpServer, newsletter: int
) -> None:
    settings = smtp_settings
    app = create_app(
        settings,
        sessions=pg_sessions,
        transport_factory=lambda: create_transport(settings.smtp),
    )
    with serve(app) as base, browser_page() as page:
        # An Italian citizen's browser (Chromium here says en-US, which the site honours).
        page.set_extra_http_headers({"Accept-Language": "it-IT,it;q=0.9"})  # type: ignore[attr-defined]
        page.goto(f"{base}/iscriviti")  # type: ignore[attr-defined]
        assert page.get_attribute("html", "lang") == "it"  # type: ignore[attr-defined]
        assert page.evaluate(UNLABELLED) == []  # type: ignore[attr-defined]
        fill_in_by_keyboard(page)
        heading = page.text_content("h1")  # type: ignore[attr-defined]
        assert heading == "Controlla la tua casella di posta"
        assert smtpd.wait_for(1, timeout=10)
        link = confirmation_path(smtpd.accepted[0].data or b"")
        page.goto(base + link)  # type: ignore[attr-defined]
        assert status(pg_sessions) == "pending"  # opening the link confirms nothing
        page.focus("form button")  # type: ignore[attr-defined]
        page.keyboard.press("Enter")  # type: ignore[attr-defined]
        page.wait_for_selector("text=Iscrizione confermata")  # type: ignore[attr-defined]
    assert status(pg_sessions) == "confirmed"


def fill_in_by_keyboard(page: object) -> None:
    """Address, Tab, name, Tab past the (only, ticked) newsletter and the folded sections,
    Space on consent, Enter."""
    keyboard = page.keyboard  # type: ignore[attr-defined]
    page.focus("#email")  # type: ignore[attr-defined]
    keyboard.type(ADDRESS)
    keyboard.press("Tab")
    assert focused(page) == "name"
    keyboard.type("Giulia Verdi")
    keyboard.press("Tab")
    assert focused(page) == "list-cronache"
    assert page.is_checked("#list-cronache")  # type: ignore[attr-defined]
    keyboard.press("Tab")
    assert focused(page) == "sections-summary"  # the optional sections, folded away
    keyboard.press("Tab")
    assert focused(page) == "consent"
    assert not page.is_checked("#consent")  # type: ignore[attr-defined]
    keyboard.press("Space")
    keyboard.press("Tab")
    assert focused(page) == ""  # the honeypot is skipped: the submit button has no id
    assert page.evaluate("document.activeElement.type") == "submit"  # type: ignore[attr-defined]
    with page.expect_navigation():  # type: ignore[attr-defined]
        keyboard.press("Enter")


def confirmation_path(data: bytes) -> str:
    """The path of the confirmation link in the mail's plain-text part."""
    message = email.message_from_bytes(data, policy=email.policy.default)
    text = message.get_body(("plain",)).get_content()  # type: ignore[attr-defined]
    found = re.search(r"https://newsletter\.example\.org(/conferma/[0-9a-f]+)", text)
    assert found, text
    return found.group(1)
