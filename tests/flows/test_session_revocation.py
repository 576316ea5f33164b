"""Logging out, a new password and a disabled account end a login, copies of its cookie too.

A copy of the session cookie (from a shared computer, a proxy log) is played by a
second client that was given the first one's cookie.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from click.testing import CliRunner
from fastapi.testclient import TestClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from dispatcher.cli.main import cli
from dispatcher.models import WebSession
from tests.conftest import SECRET
from tests.support.admin import PASSWORD, Desk, csrf_of, log_in

COOKIE = "dispatcher_session"


@pytest.fixture
def invoke(pg_url: str) -> Callable[..., Any]:
    env = {"DATABASE_URL": pg_url, "SECRET_KEY": SECRET, "SECRET_KEY_FALLBACKS": ""}

    def run(*args: str) -> Any:
        result = CliRunner().invoke(cli, list(args), env=env, catch_exceptions=False)
        assert result.exit_code == 0, result.output
        return result

    return run


def client(desk: Desk) -> TestClient:
    return TestClient(desk.app, base_url="https://testserver", follow_redirects=False)


def logged_in(http: TestClient) -> bool:
    answer = http.get("/admin")
    assert answer.status_code in (200, 303, 401), answer.status_code
    return answer.status_code == 200


def copy_of(http: TestClient, desk: Desk) -> TestClient:
    """Another client holding the same session cookie."""
    thief = client(desk)
    thief.cookies.set(COOKIE, http.cookies[COOKIE])
    return thief


def test_logging_out_ends_every_copy_of_the_session(desk: Desk) -> None:
    with client(desk) as http:
        log_in(http, "editor")
        with copy_of(http, desk) as thief, client(desk) as other_device:
            log_in(other_device, "editor")
            assert logged_in(thief)
            http.post("/logout", data={"csrf_token": csrf_of(http.get("/admin").text)})
            assert not logged_in(http) and not logged_in(thief)
            # Only that login ended: the same user elsewhere is still in.
            assert logged_in(other_device)


def test_a_new_password_ends_every_login_of_the_user(
    desk: Desk, invoke: Callable[..., Any]
) -> None:
    with client(desk) as http, client(desk) as admin:
        log_in(http, "editor")
        log_in(admin, "admin")
        with copy_of(http, desk) as thief:
            invoke("users", "password", "editor", "--password", "another long password")
            assert not logged_in(http) and not logged_in(thief)
            assert logged_in(admin)  # other users are not touched


def test_a_disabled_user_is_out_at_once_and_can_come_back_when_enabled(
    desk: Desk, invoke: Callable[..., Any], pg_sessions: sessionmaker[Session]
) -> None:
    with client(desk) as http:
        log_in(http, "operator")
        with copy_of(http, desk) as thief:
            assert "user operator disabled" in invoke("users", "disable", "operator").output
            assert not logged_in(http) and not logged_in(thief)
            token = csrf_of(http.get("/login").text)
            form = {"csrf_token": token, "username": "operator", "password": PASSWORD}
            assert http.post("/login", data=form).status_code == 401
            with pg_sessions() as session:
                assert session.scalar(select(func.count()).select_from(WebSession)) == 0
            invoke("users", "enable", "operator")
            log_in(http, "operator")
            assert logged_in(http) and not logged_in(thief)


def test_the_database_never_holds_a_usable_session_key(
    desk: Desk, pg_sessions: sessionmaker[Session]
) -> None:
    with client(desk) as http:
        log_in(http, "editor")
        cookie = http.cookies[COOKIE]
    with pg_sessions() as session:
        (stored,) = session.scalars(select(WebSession.key_hash)).all()
    assert len(stored) == 64 and stored not in cookie
