"""The API explorer renders in a real browser from this site's own files, within the CSP."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from sqlalchemy.orm import Session, sessionmaker

from dispatcher.config import Settings
from dispatcher.transport.memory import MemoryTransport
from dispatcher.web.app import create_app
from tests.support.web import browser_page, serve

pytestmark = pytest.mark.browser


def test_the_api_explorer_renders_with_no_policy_violation(
    make_settings: Callable[..., Settings], pg_url: str, pg_sessions: sessionmaker[Session]
) -> None:
    app = create_app(
        make_settings(database_url=pg_url), sessions=pg_sessions, transport_factory=MemoryTransport
    )
    console: list[str] = []
    requested: list[str] = []
    with serve(app) as base, browser_page() as page:
        browser: Any = page
        browser.on("console", lambda message: console.append(message.text))
        browser.on("pageerror", lambda error: console.append(str(error)))
        browser.on("request", lambda request: requested.append(request.url))
        browser.goto(f"{base}/api/docs")
        browser.wait_for_selector(".swagger-ui .opblock", timeout=15_000)
        assert "Newsletter dispatcher" in browser.inner_text(".swagger-ui .info")
        assert browser.locator(".opblock").count() >= 3
    violations = [text for text in console if "Content Security Policy" in text]
    assert not violations, violations
    assert not [text for text in console if "rror" in text], console
    assert all(url.startswith(base) for url in requested), requested
