"""The web app served for real on 127.0.0.1 (uvicorn in a thread), and a real browser."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import uvicorn
from fastapi import FastAPI

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    # The machine's network is closed: without these Chromium keeps dialling out.
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@contextmanager
def serve(app: FastAPI) -> Iterator[str]:
    """Serve ``app`` on a free port for the duration; yields its base URL."""
    port = free_port()
    config = uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning")
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 15
    while not server.started:
        if time.monotonic() > deadline:
            raise RuntimeError("the web app did not start")
        time.sleep(0.02)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(10)


@contextmanager
def browser_page() -> Iterator[object]:
    """A page in headless Debian Chromium driven by Playwright."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS
        )
        try:
            yield browser.new_page()
        finally:
            browser.close()


# axe-core from the pinned npm lock file (`make web-assets` runs `npm ci`); read from
# node_modules, because it is a test's tool and the app never serves it.
AXE_SOURCE = Path(__file__).resolve().parents[2] / "node_modules" / "axe-core" / "axe.min.js"
PHONE_WIDTH = 375
# The elements that stick out on the right: what a failing reflow check names.
WIDEST = """limit => [...document.querySelectorAll('body *')]
    .filter(e => e.getBoundingClientRect().right > limit + 1)
    .slice(0, 5).map(e => e.tagName.toLowerCase() + (e.id ? '#' + e.id : '')
        + (typeof e.className === 'string' ? '.' + e.className.split(' ')[0] : ''))"""


def axe_violations(page: Any) -> list[dict[str, Any]]:
    """What axe-core finds wrong on the page as shown now (WCAG 2.x A and AA rules)."""
    if not page.evaluate("typeof window.axe !== 'undefined'"):
        # Through the DevTools protocol, not a <script> tag: the app's CSP forbids inline scripts.
        page.evaluate(AXE_SOURCE.read_text(encoding="utf-8"))
    result = page.evaluate(
        "async () => (await axe.run(document, {runOnly: {type: 'tag', values: "
        "['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa', 'best-practice']}})).violations"
    )
    return [
        {
            "id": item["id"],
            "help": item["help"],
            "nodes": [node["target"] for node in item["nodes"]][:5],
        }
        for item in result
    ]


def assert_page_is_sound(page: Any) -> None:
    """The page has no axe violation and, on a phone, is no wider than the screen.

    Call it on every page a browser test visits: WCAG 2.1 AA (axe) and reflow at
    375 px (WCAG 1.4.10) are checked where a person actually stands.
    """
    violations = axe_violations(page)
    assert not violations, (page.url, violations)
    viewport = page.viewport_size
    if viewport and viewport["width"] <= PHONE_WIDTH:
        width = page.evaluate("document.documentElement.scrollWidth")
        widest = page.evaluate(WIDEST, viewport["width"])
        assert width <= viewport["width"], (page.url, width, widest)
