"""The console in a real browser while a real send runs: figures move without a reload.

PostgreSQL, Redis, a Celery worker process and a slow SMTP server make a send
that lasts some seconds; an operator logs in with Debian's Chromium (driven by
Playwright), watches the sent count grow on the send's page, pauses the send
with its button, resumes it and sees it finish.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from sqlalchemy.orm import Session, sessionmaker

from dispatcher.config import SendingSettings, Settings
from dispatcher.models import Send
from dispatcher.office.users import create_user
from dispatcher.web.app import create_app
from dispatcher.worker.tasks import enqueue_batch
from tests.smtpd import SmtpServer
from tests.support.sending import start_example_send, wait_until
from tests.support.web import browser_page, serve
from tests.support.worker import WorkerProcess

pytestmark = pytest.mark.browser

PASSWORD = "operator password 1"
SENT = '[data-send] [data-field="counts.sent"]'
STATE = '[data-send] [data-field="state"]'
FAST = SendingSettings(
    batch_size=100, dispatch_window=4, reconcile_interval=1, redispatch_after=10, retry_base=1
)


@pytest.fixture
def smtpd() -> Iterator[SmtpServer]:
    with SmtpServer(keep_data=False) as server:
        server.delay("dot", 0.02, times=100_000)  # the send lasts several seconds
        yield server


@pytest.fixture
def settings(enqueuing_settings: Callable[..., Settings], smtpd: SmtpServer) -> Settings:
    # Served over plain http on 127.0.0.1: an http PUBLIC_URL keeps the cookie non-Secure.
    return enqueuing_settings(smtp_url=smtpd.url, sending=FAST, public_url="http://127.0.0.1")


def _number(text: str | None) -> int:
    return int(re.sub(r"\D", "", text or "") or 0)


def _state(sessions: sessionmaker[Session], send_id: int) -> str:
    with sessions() as session:
        return session.get_one(Send, send_id).state


def test_an_operator_watches_a_send_move_and_pauses_it(
    settings: Settings, pg_sessions: sessionmaker[Session], tmp_path: Path
) -> None:
    with pg_sessions.begin() as session:
        create_user(session, "operatrice", PASSWORD, "operator")
    app = create_app(settings, sessions=pg_sessions)
    with WorkerProcess(settings, tmp_path) as worker, serve(app) as base, browser_page() as page:
        send_id = start_example_send(pg_sessions, settings, 2000, 100, enqueue_batch)
        page.set_extra_http_headers({"Accept-Language": "it-IT,it;q=0.9"})  # type: ignore[attr-defined]
        page.goto(f"{base}/login?next=/console/sends/{send_id}")  # type: ignore[attr-defined]
        page.fill("#username", "operatrice")  # type: ignore[attr-defined]
        page.fill("#password", PASSWORD)  # type: ignore[attr-defined]
        page.click("form button[type=submit]")  # type: ignore[attr-defined]
        page.wait_for_selector(SENT)  # type: ignore[attr-defined]
        assert page.text_content(STATE) == "In corso"  # type: ignore[attr-defined]

        # Mark this document: a reload would lose the mark.
        page.evaluate("window.consoleMark = 'same page'")  # type: ignore[attr-defined]
        first = _number(page.text_content(SENT))  # type: ignore[attr-defined]
        page.wait_for_function(  # type: ignore[attr-defined]
            f"n => parseInt(document.querySelector('{SENT}').textContent.replace(/\\D/g, '')) > n",
            arg=first,
            timeout=30_000,
        )
        assert page.evaluate("window.consoleMark") == "same page"  # type: ignore[attr-defined]
        assert _number(page.text_content(SENT)) > first  # type: ignore[attr-defined]

        page.click("form[action$='/pause'] button")  # type: ignore[attr-defined]
        page.wait_for_selector("text=Invio messo in pausa.")  # type: ignore[attr-defined]
        assert page.text_content(STATE) == "In pausa"  # type: ignore[attr-defined]
        assert _state(pg_sessions, send_id) == "paused"
        assert page.is_visible("form[action$='/resume'] button")  # type: ignore[attr-defined]
        assert not page.is_visible("form[action$='/pause'] button")  # type: ignore[attr-defined]

        page.click("form[action$='/resume'] button")  # type: ignore[attr-defined]
        page.wait_for_selector("text=Invio ripreso")  # type: ignore[attr-defined]
        # The reconciler dispatches the batches again; the page sees the end by itself.
        page.wait_for_function(  # type: ignore[attr-defined]
            f"() => document.querySelector('{STATE}').textContent === 'Concluso'",
            timeout=120_000,
        )
        assert wait_until(lambda: _state(pg_sessions, send_id) == "finished", 5), worker.log()
        assert _number(page.text_content(SENT)) == 2000  # type: ignore[attr-defined]
