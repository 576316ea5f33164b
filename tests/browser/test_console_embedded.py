"""The console on the embedded defaults, reached from the desk's navigation, in Chromium.

SQLite, the SQL broker and no Redis (examples/demo.sh): a real worker with its beat
keeps its heartbeat and the beat's tick in the database, and the console shows both.
The operator reaches the console from the desk's menu, stops and restarts its
automatic updates with a button, and changes are announced in a polite live region.
At 1280 and 375 px, every page passes axe and fits the screen.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from dispatcher.config import Settings
from dispatcher.db import create_db_engine, create_session_factory
from dispatcher.office.users import create_user
from dispatcher.web.app import create_app
from tests.smtpd import SmtpServer
from tests.support.sending import quick_policy
from tests.support.web import assert_page_is_sound, browser_page, serve
from tests.support.worker import WorkerProcess

pytestmark = pytest.mark.browser

PASSWORD = "operator password 1"
WORKER_ROW = "[data-workers] tr td:has-text(':')"


@pytest.fixture
def demo(
    make_settings: Callable[..., Settings], sqlite_url: str, tmp_path: Path, smtpd: SmtpServer
) -> Settings:
    settings = make_settings(
        database_url=sqlite_url,
        broker_url=f"sqla+sqlite:///{tmp_path}/broker.sqlite",
        smtp_url=smtpd.url,
        sending=quick_policy(batch_size=50, lease_seconds=30),
        public_url="https://newsletter.example.org",
    )
    return settings.with_overrides(redis_url=None)


@pytest.fixture(params=(1280, 375))
def page_at(request: pytest.FixtureRequest) -> Iterator[Any]:
    with browser_page() as opened:
        page: Any = opened
        page.set_viewport_size({"width": request.param, "height": 900})
        yield page


def test_an_operator_reaches_the_console_and_sees_the_worker_and_the_beat_without_redis(
    demo: Settings, tmp_path: Path, page_at: Any
) -> None:
    page = page_at
    engine = create_db_engine(demo.database_url)
    sessions = create_session_factory(engine)
    with sessions.begin() as session:
        create_user(session, "operatrice", PASSWORD, "operator")
    app = create_app(demo, sessions=sessions)
    with WorkerProcess(demo, tmp_path, concurrency=1), serve(app) as base:
        page.goto(f"{base}/login?lang=it")
        page.fill("#username", "operatrice")
        page.fill("#password", PASSWORD)
        page.click("button[type=submit]")
        page.wait_for_url(f"{base}/admin")
        assert_page_is_sound(page)
        page.click("nav.admin-nav >> text=Console")
        page.wait_for_url(f"{base}/console")
        # The worker's heartbeat and the beat's tick arrive through the database.
        page.wait_for_selector(WORKER_ROW, timeout=60_000)
        page.wait_for_function(
            "() => !/mai|never/i.test("
            "document.querySelector('[data-system=beat_seconds_ago]').textContent)",
            timeout=60_000,
        )
        announcer = page.locator("[data-announce]")
        assert announcer.get_attribute("aria-live") == "polite"
        toggle = page.locator("[data-live-toggle]")
        assert toggle.get_attribute("aria-pressed") == "false"
        assert_page_is_sound(page)
        toggle.click()
        assert toggle.get_attribute("aria-pressed") == "true"
        assert "fermo" in page.inner_text("[data-live]")
        toggle.click()
        assert toggle.get_attribute("aria-pressed") == "false"
        width = page.viewport_size["width"]
        page.screenshot(path=f"/tmp/shots/sends-console-embedded-{width}.png", full_page=True)
    engine.dispose()
