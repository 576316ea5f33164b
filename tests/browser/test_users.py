"""Users in Chromium, as the role that does each step, on a desktop and on a phone.

An admin creates a user, hands over the one-time password the page shows, changes
the user's role and disables them; the user logs in with the one-time password,
must choose their own first, and is logged out the moment they are disabled. An
approver enrols TOTP from the secret on the page and logs in with a code, which
cannot be used twice. With REQUIRE_TOTP_FOR set, an admin without TOTP is sent to
enrolment. Every page passes axe and fits the screen (assert_page_is_sound).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pyotp
import pytest
from sqlalchemy.orm import Session, sessionmaker

from dispatcher.config import Settings, WebSettings
from dispatcher.office.users import create_user
from dispatcher.web import create_app
from tests.support.web import assert_page_is_sound, browser_page, serve

pytestmark = pytest.mark.browser

PASSWORD = "correct horse battery staple"
OWN_PASSWORD = "la mia frase segreta di accesso"
SHOTS = Path("/tmp/shots")
WIDTHS = (1280, 375)


@pytest.fixture
def settings(make_settings: Callable[..., Settings], pg_url: str) -> Settings:
    return make_settings(database_url=pg_url, public_url="https://newsletter.example.org")


@pytest.fixture
def office(pg_sessions: sessionmaker[Session]) -> sessionmaker[Session]:
    with pg_sessions.begin() as session:
        create_user(session, "segreteria", PASSWORD, "admin")
        create_user(session, "direttrice", PASSWORD, "approver")
    return pg_sessions


def sound(page: Any, name: str) -> None:
    """axe and reflow on the page shown now, and a screenshot to look at."""
    assert_page_is_sound(page)
    SHOTS.mkdir(exist_ok=True)
    width = page.viewport_size["width"]
    page.screenshot(path=str(SHOTS / f"users-{name}-{width}.png"), full_page=True)


def log_in(page: Any, base: str, name: str, password: str) -> None:
    page.goto(f"{base}/login?lang=it")
    page.fill("#username", name)
    page.fill("#password", password)
    page.click("main button[type=submit]")


@pytest.fixture
def two_pages() -> Iterator[tuple[Any, Any]]:
    """Two browsers' worth of pages: separate cookies, as two people at two desks."""
    with browser_page() as opened:
        first: Any = opened
        second = first.context.browser.new_context().new_page()
        yield first, second


@pytest.mark.parametrize("width", WIDTHS)
def test_an_admin_creates_changes_and_disables_a_user_who_sets_their_own_password(
    settings: Settings,
    office: sessionmaker[Session],
    two_pages: tuple[Any, Any],
    width: int,
) -> None:
    admin, newcomer = two_pages
    for page in two_pages:
        page.set_viewport_size({"width": width, "height": 900})
    with serve(create_app(settings, sessions=office)) as base:
        log_in(admin, base, "segreteria", PASSWORD)
        admin.click("nav >> text=Utenti")
        admin.wait_for_url(f"{base}/admin/users")
        sound(admin, "list")
        admin.fill("#new-username", "redazione2")
        admin.select_option("#new-role", "editor")
        admin.click("text=Crea l'utente")
        one_time = admin.inner_text("#one-time-password")
        sound(admin, "one-time")

        log_in(newcomer, base, "redazione2", one_time)
        newcomer.wait_for_url(f"{base}/admin/account")
        assert newcomer.is_visible("#must-change")
        sound(newcomer, "must-change")
        newcomer.goto(f"{base}/admin/images")  # nothing else until the password is theirs
        newcomer.wait_for_url(f"{base}/admin/account")
        newcomer.fill("#current", one_time)
        newcomer.fill("#new", OWN_PASSWORD)
        newcomer.fill("#repeat", OWN_PASSWORD + "!")
        newcomer.click("text=Cambia la password >> nth=-1")
        assert "non coincidono" in newcomer.inner_text("#problem")
        sound(newcomer, "password-refused")
        newcomer.fill("#current", one_time)
        newcomer.fill("#new", OWN_PASSWORD)
        newcomer.fill("#repeat", OWN_PASSWORD)
        newcomer.click("text=Cambia la password >> nth=-1")
        assert "Password cambiata" in newcomer.inner_text("main")
        sound(newcomer, "password-changed")
        newcomer.goto(f"{base}/admin/images")
        assert newcomer.url == f"{base}/admin/images"

        admin.click("text=Fatto, torna all'utente")
        admin.select_option("#role", "approver")
        admin.click("text=Cambia ruolo >> nth=-1")
        assert "Approvatore" in admin.inner_text("#facts")
        sound(admin, "role-changed")
        admin.click("text=Disattiva l'utente")
        assert "Utente disattivato" in admin.inner_text("main")
        sound(admin, "disabled")

        newcomer.reload()  # their open session ended with the account
        assert newcomer.url.startswith(f"{base}/login")
        log_in(newcomer, base, "redazione2", OWN_PASSWORD)
        assert "non corretti" in newcomer.inner_text("main")
        sound(newcomer, "login-refused")


def enrol(page: Any, base: str) -> str:
    """Enrol TOTP through the pages; returns the code used (computed from the page's secret)."""
    page.click("nav >> text=Il mio account")
    sound(page, "account")
    page.click("text=Configura il secondo fattore")
    page.wait_for_url(f"{base}/admin/account/totp")
    assert page.is_visible(".totp-qr svg")
    sound(page, "enrol")
    secret = pyotp.TOTP(page.inner_text("#totp-secret").replace(" ", ""))
    page.fill("#code", "000000" if secret.now() != "000000" else "111111")
    page.click("text=Attiva")
    assert "non corrisponde" in page.inner_text("#problem")
    sound(page, "enrol-refused")
    code = secret.now()
    page.fill("#code", code)
    page.click("text=Attiva")
    page.wait_for_url(f"{base}/admin")
    assert "Secondo fattore attivato" in page.inner_text("main")
    return code + ":" + secret.secret


@pytest.mark.parametrize("width", WIDTHS)
def test_an_approver_enrols_totp_and_logs_in_with_a_code_that_works_once(
    settings: Settings, office: sessionmaker[Session], width: int
) -> None:
    with serve(create_app(settings, sessions=office)) as base, browser_page() as opened:
        page: Any = opened
        page.set_viewport_size({"width": width, "height": 900})
        log_in(page, base, "direttrice", PASSWORD)
        used, secret_text = enrol(page, base).split(":")
        secret = pyotp.TOTP(secret_text)
        page.click("text=Esci")
        log_in(page, base, "direttrice", PASSWORD)
        page.wait_for_url(f"{base}/login/code")
        sound(page, "code")
        page.fill("#code", used)  # the enrolment's code: used already
        page.click("main button[type=submit]")
        assert "già stato usato" in page.inner_text("main")
        sound(page, "code-refused")
        page.fill("#code", secret.at(dt.datetime.now(dt.UTC) + dt.timedelta(seconds=30)))
        page.click("main button[type=submit]")
        page.wait_for_url(f"{base}/admin")
        sound(page, "logged-in-with-code")


@pytest.mark.parametrize("width", WIDTHS)
def test_with_totp_required_an_admin_without_it_is_sent_to_enrolment(
    settings: Settings, office: sessionmaker[Session], width: int
) -> None:
    required = settings.with_overrides(web=WebSettings(require_totp_for="approver,admin"))
    with serve(create_app(required, sessions=office)) as base, browser_page() as opened:
        page: Any = opened
        page.set_viewport_size({"width": width, "height": 900})
        log_in(page, base, "segreteria", PASSWORD)
        page.wait_for_url(f"{base}/admin/account/totp")
        sound(page, "required")
        page.goto(f"{base}/admin/users")
        assert page.url == f"{base}/admin/account/totp"
        secret = pyotp.TOTP(page.inner_text("#totp-secret").replace(" ", ""))
        page.fill("#code", secret.now())
        page.click("text=Attiva")
        page.wait_for_url(f"{base}/admin")
        page.goto(f"{base}/admin/users")
        assert page.url == f"{base}/admin/users"
