"""The web app's defences: security headers, the login's rate limit, safe redirects.

Every answer says ``nosniff``; the login form, the admin and the personal pages
(``/u/``, ``/p/``, ``/conferma/``) refuse to be framed by any site; the admin's own
preview may be framed by the admin only. Logging in is limited per client IP.
"""

from __future__ import annotations

from collections.abc import Callable
from urllib.parse import urlsplit

import httpx
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import create_engine
from sqlalchemy.orm import sessionmaker

from dispatcher.config import Settings
from dispatcher.transport.memory import MemoryTransport
from dispatcher.web.app import create_app
from dispatcher.web.ratelimit import Rate, create_limiter
from subscribers.tokens import Purpose, Signer
from tests.support.admin import PASSWORD, Desk, csrf_of, log_in
from tests.support.data import add_example_edition, add_subscribers, create_newsletter


@pytest.fixture
def people(desk: Desk) -> dict[str, str]:
    """A newsletter, an edition and a reader, and the reader's personal links."""
    with desk.sessions.begin() as session:
        list_id = create_newsletter(session).id
        edition_id = add_example_edition(session, desk.settings)
        (reader,) = add_subscribers(session, list_id, 1)
    signer = Signer(desk.settings.all_secret_keys)
    return {
        "unsubscribe": f"/u/{signer.sign(Purpose.UNSUBSCRIBE, reader, list_id)}",
        "preferences": f"/p/{signer.sign(Purpose.PREFERENCES, reader)}",
        "confirm": f"/conferma/{signer.sign_expiring(Purpose.CONFIRM, reader, list_id)}",
        "edition": f"/admin/editions/{edition_id}",
        "preview": f"/admin/editions/{edition_id}/preview/html",
    }


def client(desk: Desk, ip: str = "testclient") -> TestClient:
    return TestClient(
        desk.app, base_url="https://testserver", follow_redirects=False, client=(ip, 50000)
    )


def frame_denied(headers: httpx.Headers) -> bool:
    policy = headers.get("content-security-policy", "")
    return headers.get("x-frame-options") == "DENY" and "frame-ancestors 'none'" in policy


PUBLIC_PAGES = ("/login", "/iscriviti", "/", "/privacy", "/gestione-iscrizione", "/nope")
PERSONAL_PAGES = ("unsubscribe", "preferences", "confirm")


def test_public_and_personal_pages_send_nosniff_and_refuse_frames(
    desk: Desk, people: dict[str, str]
) -> None:
    with client(desk) as http:
        paths = [*PUBLIC_PAGES, *(people[name] for name in PERSONAL_PAGES), "/u/0badc0de"]
        for path in paths:
            answer = http.get(path)
            assert answer.status_code < 500, path
            assert answer.headers["x-content-type-options"] == "nosniff", path
            assert frame_denied(answer.headers), (path, dict(answer.headers))
            assert answer.headers["referrer-policy"] in ("same-origin", "no-referrer"), path


def test_admin_pages_refuse_frames_but_the_preview_is_framed_by_the_admin_only(
    desk: Desk, people: dict[str, str]
) -> None:
    with client(desk) as http:
        log_in(http, "editor")
        for path in ("/admin", people["edition"], "/admin/editions/new", "/console"):
            answer = http.get(path)
            assert answer.headers["x-content-type-options"] == "nosniff", path
            assert frame_denied(answer.headers), path
        preview = http.get(people["preview"])
        assert preview.status_code == 200
        assert "frame-ancestors 'self'" in preview.headers["content-security-policy"]
        assert "frame-ancestors 'none'" not in preview.headers["content-security-policy"]
        assert "x-frame-options" not in preview.headers
        assert preview.headers["x-content-type-options"] == "nosniff"


def test_a_route_keeps_its_own_policy_and_gets_frame_denial_added(desk: Desk) -> None:
    # The archive's web version has a strict policy of its own; framing is refused on top.
    with client(desk) as http:
        answer = http.get("/archive/cronache/44")  # not published: a 404 page
        assert frame_denied(answer.headers)


def test_logging_in_is_limited_per_client_ip(desk: Desk) -> None:
    # The app's own limiter (Redis, this test's key prefix) with a lower limit: each
    # attempt costs an argon2 check, and the mechanism is what is tested here.
    rate = Rate(limit=3, window=desk.settings.web.login_rate.window)
    prefix = f"{desk.settings.broker_key_prefix}ratelimit:login:"
    desk.app.state.web.extras["ratelimit.login"] = create_limiter(rate, desk.settings.redis, prefix)
    with client(desk) as http, client(desk, "203.0.113.7") as elsewhere:
        token = csrf_of(http.get("/login").text)
        wrong = {"csrf_token": token, "username": "editor", "password": "indovina"}
        for _ in range(rate.limit):
            assert http.post("/login", data=wrong).status_code == 401
        # Over the limit even the right password is refused: guessing gains nothing.
        refused = http.post("/login", data=wrong | {"password": PASSWORD})
        assert refused.status_code == 429
        assert refused.headers["retry-after"] == str(rate.window)
        assert "text/html" in refused.headers["content-type"]
        # Somebody at another address is not locked out by it.
        assert log_in(elsewhere, "editor")


def test_the_login_limit_stops_guessing_but_not_people() -> None:
    login_rate = Settings().web.login_rate  # the default
    per_hour = login_rate.limit * 3600 / login_rate.window
    assert 10 <= login_rate.limit and per_hour <= 200


HOSTILE_NEXT = (
    "//evil.example.org/",
    "/\\evil.example.org",
    "/\\/evil.example.org",
    "https://evil.example.org/",
    "/\t/evil.example.org",
    "javascript:alert(1)",
    "\\\\evil.example.org",
    "/%2F/evil.example.org",
)


def test_logging_in_never_redirects_to_another_site(desk: Desk) -> None:
    with client(desk) as http:
        for target in HOSTILE_NEXT:
            token = csrf_of(http.get("/login").text)
            form = {"csrf_token": token, "username": "editor", "password": PASSWORD}
            location = http.post("/login", data=form | {"next": target}).headers["location"]
            assert location.startswith("/") and not location.startswith(("//", "/\\")), target
            assert "\\" not in location and "\t" not in location, target
            assert urlsplit(location).netloc == "", target
            http.post("/logout", data={"csrf_token": csrf_of(http.get("/admin").text)})


def test_a_form_sent_after_the_session_ended_gets_a_page_not_json(
    desk: Desk, people: dict[str, str]
) -> None:
    with client(desk) as http:
        answer = http.post(people["edition"] + "/revoke", data={"csrf_token": "x"})
        assert answer.status_code == 401
        assert answer.headers["content-type"].startswith("text/html")
        assert http.get("/api/sends").json() == {"error": "login required"}


def test_a_server_error_page_keeps_the_security_headers_and_shows_no_trace(
    make_settings: Callable[..., Settings],
) -> None:
    # A database that cannot be reached: a real fault, and an error no handler expects.
    # Starlette answers it from its outermost middleware, outside SecurityHeaders.
    unreachable = "postgresql+psycopg://postgres@127.0.0.1:1/nowhere?connect_timeout=2"
    settings = make_settings(database_url=unreachable)
    sessions = sessionmaker(bind=create_engine(unreachable))
    app = create_app(settings, sessions=sessions, transport_factory=MemoryTransport)
    with TestClient(app, base_url="https://testserver", raise_server_exceptions=False) as http:
        answer = http.get("/")
    assert answer.status_code == 500
    assert "Traceback" not in answer.text and "psycopg" not in answer.text
    assert answer.headers["x-content-type-options"] == "nosniff"
    assert frame_denied(answer.headers), dict(answer.headers)
