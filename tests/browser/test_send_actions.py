"""Every send action in Chromium, as the role that does it, at 1280 and 375 px.

The app is served on 127.0.0.1, a real Celery worker (beat embedded) delivers to the
test SMTP server: "Invia ora" asks first and says how many people it reaches;
"no" sends nothing; "yes" reaches everyone once. An editor follows a send live until
it finishes (the page updates itself), an approver pauses and resumes, retries the
temporary failures, sends to late joiners, to those who did not get it, and a
correction (refused, in Italian, while the correcting edition is not approved).
Every page visited passes axe and fits a phone's width.
"""

from __future__ import annotations

import email
import email.policy
from collections import Counter
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from dispatcher.config import Settings
from dispatcher.models import Send
from dispatcher.office import approvals, send_actions
from dispatcher.office.edition_store import add_edition
from dispatcher.office.users import create_user
from dispatcher.sends import progress
from dispatcher.web import create_app
from subscribers.orm import utcnow
from tests.smtpd import SmtpServer
from tests.support.data import (
    EDITION_FILE,
    add_example_edition,
    add_subscribers,
    address,
    create_newsletter,
)
from tests.support.sending import quick_policy, wait_until
from tests.support.web import assert_page_is_sound, browser_page, serve
from tests.support.worker import WorkerProcess

pytestmark = [pytest.mark.browser, pytest.mark.usefixtures("quick_preflight")]

PASSWORD = "correct horse battery staple"
WIDTHS = (1280, 375)
SHOTS = Path("/tmp/shots")
FINISHED = '[data-field="state_label"][data-state="finished"]'


@pytest.fixture
def settings(make_settings: Callable[..., Settings], pg_url: str, smtpd: SmtpServer) -> Settings:
    # A deferred message waits an hour: only "Riprova" brings it back within the test.
    policy = quick_policy(batch_size=50, lease_seconds=30, retry_base=3600, retry_max_interval=3600)
    return make_settings(
        database_url=pg_url,
        smtp_url=smtpd.url,
        sending=policy,
        public_url="https://newsletter.example.org",
    )


def _office(sessions: sessionmaker[Session], settings: Settings, readers: int) -> int:
    """The newsletter with ``readers`` subscribers, its edition 44 approved, and the users."""
    with sessions.begin() as session:
        list_id = create_newsletter(session).id
        add_subscribers(session, list_id, readers)
        edition_id = add_example_edition(session, settings)
        for name, role in (("approvatrice", "approver"), ("redattore", "editor")):
            create_user(session, name, PASSWORD, role)
    with sessions.begin() as session:
        approvals.approve(session, edition_id, "approvatrice", settings)
    return edition_id


def _start(sessions: sessionmaker[Session], settings: Settings, edition_id: int) -> int:
    """A send started as the desk does it (the ledger written; the beat dispatches it)."""
    with sessions.begin() as session:
        plan = send_actions.plan_send(session, settings, edition_id, ["cronache"], utcnow())
        return send_actions.carry_out(session, settings, plan, "approvatrice", utcnow())


@pytest.fixture
def page_at(request: pytest.FixtureRequest) -> Iterator[Any]:
    width = request.param
    with browser_page() as opened:
        page: Any = opened
        page.set_viewport_size({"width": width, "height": 900})
        yield page


def log_in(page: Any, base: str, username: str) -> None:
    page.goto(f"{base}/login?lang=it")
    page.fill("#username", username)
    page.fill("#password", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url(f"{base}/admin")
    assert_page_is_sound(page)


def look(page: Any, name: str) -> None:
    """Check the page (axe, reflow) and keep a screenshot to look at."""
    assert_page_is_sound(page)
    width = page.viewport_size["width"]
    SHOTS.mkdir(exist_ok=True)
    page.screenshot(path=str(SHOTS / f"sends-{name}-{width}.png"), full_page=True)


def recipients(smtpd: SmtpServer, subject_start: str = "Cronache") -> Counter[str]:
    found: Counter[str] = Counter()
    for message in smtpd.accepted:
        parsed = email.message_from_bytes(message.data or b"", policy=email.policy.default)
        if str(parsed["Subject"]).startswith(subject_start):
            found[message.rcpt_tos[0]] += 1
    return found


def sends(sessions: sessionmaker[Session]) -> list[Send]:
    with sessions() as session:
        return list(session.scalars(select(Send).order_by(Send.id)))


def state(sessions: sessionmaker[Session], send_id: int) -> str:
    with sessions() as session:
        return session.get_one(Send, send_id).state


@pytest.mark.parametrize("page_at", WIDTHS, indirect=True)
def test_send_now_asks_with_the_count_no_sends_nothing_yes_reaches_everyone_once(
    settings: Settings,
    pg_sessions: sessionmaker[Session],
    smtpd: SmtpServer,
    tmp_path: Path,
    page_at: Any,
) -> None:
    page = page_at
    edition_id = _office(pg_sessions, settings, 7)
    app = create_app(settings, sessions=pg_sessions)
    with WorkerProcess(settings, tmp_path, concurrency=1) as worker, serve(app) as base:
        log_in(page, base, "approvatrice")
        page.goto(f"{base}/admin/editions/{edition_id}")
        page.click("#schedule-now")
        assert "Invia ora a 7 iscritti di Cronache da Palazzo Cisterna?" in page.inner_text(
            "#question"
        )
        look(page, "confirm-now")
        page.click("#decline")
        page.wait_for_url(f"{base}/admin/editions/{edition_id}")
        assert sends(pg_sessions) == [] and smtpd.messages == []

        page.click("#schedule-now")
        page.click("#confirm")
        page.wait_for_url(f"{base}/admin/sends/*")
        assert "7 destinatari" in page.inner_text("main")
        page.wait_for_selector(FINISHED, timeout=90_000)
        look(page, "finished")
        assert worker.process is not None
    assert recipients(smtpd) == Counter({address(i): 1 for i in range(7)})
    assert len(sends(pg_sessions)) == 1


@pytest.mark.parametrize("page_at", WIDTHS, indirect=True)
def test_an_editor_follows_a_live_send_until_it_finishes(
    settings: Settings,
    pg_sessions: sessionmaker[Session],
    smtpd: SmtpServer,
    tmp_path: Path,
    page_at: Any,
) -> None:
    page = page_at
    edition_id = _office(pg_sessions, settings, 6)
    send_id = _start(pg_sessions, settings, edition_id)  # no worker yet: it waits, running
    app = create_app(settings, sessions=pg_sessions)
    with serve(app) as base:
        log_in(page, base, "redattore")
        page.click(f'tr[data-send="{send_id}"] >> text=Segui l\'invio')
        page.wait_for_url(f"{base}/admin/sends/{send_id}")
        assert page.get_attribute('[data-field="state_label"]', "data-state") == "running"
        assert page.inner_text('[data-field="remaining"]') == "6"
        assert page.locator("#action-pause").count() == 0  # editors follow, approvers act
        look(page, "live-running")
        page.evaluate("window.stayedOnThePage = true")
        with WorkerProcess(settings, tmp_path, concurrency=1):
            page.wait_for_selector(FINISHED, timeout=90_000)
        assert page.evaluate("window.stayedOnThePage") is True  # updated, not reloaded
        assert page.inner_text('[data-field="sent"]') == "6"
        assert page.get_attribute("#progress-bar", "aria-valuenow") == "100"
        assert "Concluso: 100% completato" in page.inner_text("#live-announce")
        look(page, "live-finished")
        page.click("#live-toggle")
        assert page.get_attribute("#live-toggle", "aria-pressed") == "true"
        assert "fermo" in page.inner_text("#live-text")
    assert recipients(smtpd) == Counter({address(i): 1 for i in range(6)})


@pytest.mark.parametrize("page_at", WIDTHS, indirect=True)
def test_an_approver_pauses_and_resumes_a_send(
    settings: Settings,
    pg_sessions: sessionmaker[Session],
    smtpd: SmtpServer,
    tmp_path: Path,
    page_at: Any,
) -> None:
    page = page_at
    edition_id = _office(pg_sessions, settings, 5)
    send_id = _start(pg_sessions, settings, edition_id)
    app = create_app(settings, sessions=pg_sessions)
    with serve(app) as base:
        log_in(page, base, "approvatrice")
        page.goto(f"{base}/admin/sends/{send_id}")
        page.click("#action-pause")
        question = page.inner_text("#question")
        assert f"Metti in pausa l'invio {send_id}? Restano 5 messaggi da inviare." in question
        look(page, "confirm-pause")
        page.click("#confirm")
        page.wait_for_url(f"{base}/admin/sends/{send_id}")
        assert "Invio messo in pausa." in page.inner_text("main")
        assert state(pg_sessions, send_id) == "paused"
        look(page, "paused")
        with WorkerProcess(settings, tmp_path, concurrency=1):
            page.click("#action-resume")
            assert "Restano 5 messaggi" in page.inner_text("#question")
            look(page, "confirm-resume")
            page.click("#confirm")
            page.wait_for_selector(FINISHED, timeout=90_000)
    assert recipients(smtpd) == Counter({address(i): 1 for i in range(5)})


def _second_edition(sessions: sessionmaker[Session], settings: Settings) -> int:
    source = EDITION_FILE.read_text(encoding="utf-8").replace("number: 44", "number: 45", 1)
    source = source.replace("Cisterna n. 44:", "Cisterna n. 45:", 1)
    with sessions.begin() as session:
        return add_edition(session, source, "45.md", settings).id


def _confirm_on_send(page: Any, base: str, send_id: int, action: str, question: str) -> int:
    """Press an action on the send's page, read its question, say yes; the send it shows."""
    page.goto(f"{base}/admin/sends/{send_id}")
    page.click(f"#action-{action}")
    assert question in page.inner_text("#question"), page.inner_text("main")
    look(page, f"confirm-{action}")
    page.click("#confirm")
    page.wait_for_url(f"{base}/admin/sends/*")
    page.wait_for_selector(FINISHED, timeout=90_000)
    return int(page.url.rsplit("/", 1)[1])


@pytest.mark.parametrize("page_at", WIDTHS, indirect=True)
def test_retry_late_resend_and_correction_each_from_the_browser_with_its_confirmation(
    settings: Settings,
    pg_sessions: sessionmaker[Session],
    smtpd: SmtpServer,
    tmp_path: Path,
    page_at: Any,
) -> None:
    page = page_at
    smtpd.fail_rcpt(address(1), [(451, "4.7.1 try again later")])
    smtpd.fail_rcpt(address(2), [(550, "5.1.1 mailbox unavailable")])
    edition_id = _office(pg_sessions, settings, 4)
    correcting = _second_edition(pg_sessions, settings)
    app = create_app(settings, sessions=pg_sessions)
    with WorkerProcess(settings, tmp_path, concurrency=1), serve(app) as base:
        send_id = _start(pg_sessions, settings, edition_id)
        settled = {"sent": 2, "deferred": 1, "failed": 1}
        assert wait_until(lambda: _counts(pg_sessions, send_id, settled) == settled, 60)
        log_in(page, base, "approvatrice")
        _confirm_on_send(page, base, send_id, "retry", "Riprova ora 1 messaggio")

        with pg_sessions.begin() as session:
            add_subscribers(session, 1, 2, start=10)  # they join after the send
        _confirm_on_send(page, base, send_id, "late", "Invia ora a 2 nuovi iscritti di")
        resent = "Invia ora a 1 iscritto di Cronache da Palazzo Cisterna che non l'ha ricevuta?"
        _confirm_on_send(page, base, send_id, "resend", resent)

        page.goto(f"{base}/admin/sends/{send_id}")
        page.select_option("#correcting", str(correcting))
        page.click("#action-correction")
        refusal = page.inner_text("#refusal")
        assert "non è approvata nella versione attuale" in refusal
        look(page, "refused-correction")
        with pg_sessions.begin() as session:
            approvals.approve(session, correcting, "approvatrice", settings)
        page.goto(f"{base}/admin/sends/{send_id}")
        page.select_option("#correcting", str(correcting))
        page.click("#action-correction")
        assert "Invia la correzione alle 6 persone" in page.inner_text("#question")
        look(page, "confirm-correction")
        page.click("#confirm")
        page.wait_for_selector(FINISHED, timeout=90_000)
    everyone = [address(i) for i in (0, 1, 2, 3, 10, 11)]
    assert recipients(smtpd, "Cronache da Palazzo Cisterna n. 44") == Counter(everyone)
    assert recipients(smtpd, "Cronache da Palazzo Cisterna n. 45") == Counter(everyone)


def _counts(sessions: sessionmaker[Session], send_id: int, shown: dict[str, int]) -> dict[str, int]:
    with sessions() as session:
        counts = progress.send_counts(session, send_id)
    return {status: counts[status] for status in shown}
