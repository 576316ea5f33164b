"""The office's whole cycle in a real browser, down to the mail arriving.

The app is served on 127.0.0.1, Chromium is driven by Playwright, proofs and the
send go to a test SMTP server, and a real Celery worker with its embedded beat
starts the scheduled send and delivers it: log in, upload the example edition,
preview it at phone and desktop widths, send a proof, approve, schedule.
"""

from __future__ import annotations

import base64
import email
import email.policy
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from dispatcher.config import SendingSettings, Settings
from dispatcher.models import Send
from dispatcher.office.images import sniff
from dispatcher.office.users import create_user
from dispatcher.web import create_app
from tests.smtpd import SmtpServer
from tests.support.data import EDITION_FILE, add_subscribers, address, create_newsletter
from tests.support.sending import assert_finished
from tests.support.web import browser_page, serve
from tests.support.worker import WorkerProcess

pytestmark = pytest.mark.browser

PASSWORD = "correct horse battery staple"
PROOF_TO = "redazione@example.org"
SUBSCRIBERS = 3
FAST = SendingSettings(batch_size=50, dispatch_window=2, reconcile_interval=1, lease_seconds=30)


@pytest.fixture
def settings(make_settings: Callable[..., Settings], pg_url: str, smtpd: SmtpServer) -> Settings:
    # PUBLIC_URL stays https, as preflight requires of unsubscribe links; the session
    # cookie is then Secure, which Chromium accepts from http://127.0.0.1 (a secure context).
    return make_settings(
        database_url=pg_url,
        smtp_url=smtpd.url,
        sending=FAST,
        public_url="https://newsletter.example.org",
    )


@pytest.fixture
def office(pg_sessions: sessionmaker[Session]) -> sessionmaker[Session]:
    """The newsletter with a few subscribers, and a user who may do everything."""
    with pg_sessions.begin() as session:
        newsletter = create_newsletter(session)
        add_subscribers(session, newsletter.id, SUBSCRIBERS)
        create_user(session, "caporedattore", PASSWORD, "admin")
    return pg_sessions


def subject(data: bytes | None) -> str:
    return str(email.message_from_bytes(data or b"", policy=email.policy.default)["Subject"])


def test_upload_preview_proof_approve_schedule_and_delivery(
    settings: Settings,
    office: sessionmaker[Session],
    smtpd: SmtpServer,
    tmp_path: Path,
) -> None:
    app = create_app(settings, sessions=office)
    with WorkerProcess(settings, tmp_path, concurrency=1) as worker, serve(app) as base:
        with browser_page() as opened:
            page: Any = opened
            log_in(page, base)
            upload_example(page, base)
            check_preview(page)
            send_proof(page, smtpd)
            approve(page)
            page.click("#schedule-now")  # asks first, saying how many it reaches
            assert f"Invia ora a {SUBSCRIBERS} iscritti di" in page.inner_text("#question")
            page.click("#confirm")
            assert f"partito: {SUBSCRIBERS} destinatari" in page.inner_text(".notice")

        with office() as session:
            send_id = session.scalars(select(Send.id)).one()
        assert_finished(office, send_id, worker, timeout=90)

    delivered = [m for m in smtpd.accepted if m.rcpt_tos[0] != PROOF_TO]
    assert sorted(m.rcpt_tos[0] for m in delivered) == [address(i) for i in range(SUBSCRIBERS)]
    assert all(subject(m.data).startswith("Cronache da Palazzo Cisterna n. 44") for m in delivered)


def log_in(page: Any, base: str) -> None:
    page.goto(f"{base}/admin")
    assert "/login" in page.url
    # Headless Chromium asks for English; the office works in Italian (kept in a cookie).
    page.goto(f"{base}/login?lang=it")
    page.fill("#username", "caporedattore")
    page.fill("#password", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url(f"{base}/admin")


def upload_example(page: Any, base: str) -> None:
    page.click("text=Nuova edizione")
    page.set_input_files("#file", str(EDITION_FILE))
    page.click("form[enctype] button[type=submit]")
    page.wait_for_url(f"{base}/admin/editions/*")
    assert page.get_attribute("#edition-state", "data-state") == "draft"
    assert "Edizione n. 44 caricata." in page.inner_text(".notice")


def check_preview(page: Any) -> None:
    edition_url = page.url
    page.click("text=Anteprima")
    for name, width in (("phone", 375), ("desktop", 640)):
        frame = page.frame_locator(f"#preview-{name}")
        frame.get_by_text("IL PANETTONE DEI FUTURI CHEF", exact=True).first.wait_for()
        box = page.locator(f"#preview-{name}").bounding_box()
        assert box is not None and round(box["width"]) == width
        # The email's own layout fits the frame: no sideways scrolling on a phone.
        scroll = frame.locator("body").evaluate("body => body.scrollWidth")
        assert scroll <= width, (name, scroll)
    assert "Palazzo Cisterna" in page.inner_text("#text-part")
    page.goto(edition_url)


def send_proof(page: Any, smtpd: SmtpServer) -> None:
    page.fill("#addresses", PROOF_TO)
    page.click("#send-proof")
    assert f"Bozza inviata a {PROOF_TO}" in page.inner_text("main")
    assert smtpd.wait_for(1, timeout=10)
    (proof,) = smtpd.accepted
    assert proof.rcpt_tos == (PROOF_TO,)
    assert subject(proof.data).startswith("[BOZZA] Cronache da Palazzo Cisterna n. 44")


def approve(page: Any) -> None:
    page.click("#approve")
    assert page.get_attribute("#approval-state", "data-approval") == "current"
    assert page.get_attribute("#edition-state", "data-state") == "approved"


def test_pictures_from_chromiums_own_encoders_are_read_right() -> None:
    """PNG, JPEG and WebP as a browser (or a phone) writes them, not as a test hand-makes them."""
    with browser_page() as opened:
        page: Any = opened
        for mime, extension in (
            ("image/png", "png"),
            ("image/jpeg", "jpg"),
            ("image/webp", "webp"),
        ):
            url = page.evaluate(
                """mime => { const c = document.createElement("canvas");
                             c.width = 37; c.height = 23;
                             const g = c.getContext("2d");
                             g.fillStyle = "#1c4f82"; g.fillRect(0, 0, 37, 23);
                             return c.toDataURL(mime, 0.9); }""",
                mime,
            )
            assert url.startswith(f"data:{mime};base64,"), url[:40]
            info = sniff(base64.b64decode(url.split(",", 1)[1]))
            assert (info.extension, info.width, info.height) == (extension, 37, 23)
