"""The office's admin for tests: users of every role, logging in, the CSRF token."""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
from click.testing import CliRunner, Result
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session, sessionmaker

from dispatcher import preflight
from dispatcher.cli.main import cli
from dispatcher.config import Settings
from dispatcher.office import approvals
from dispatcher.office.users import create_user
from dispatcher.preflight import Finding, PreflightReport
from dispatcher.transport.base import Transport
from dispatcher.web import create_app

PASSWORD = "correct horse battery staple"
#: One user per role, called after it.
ROLES = ("editor", "approver", "operator", "admin")
_CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')


@dataclass
class Desk:
    """The admin app, its database sessions and the transport proofs go through."""

    app: FastAPI
    sessions: sessionmaker[Session]
    settings: Settings
    transport: Transport

    @contextmanager
    def client(self, role: str | None = None) -> Iterator[LoggedIn]:
        """A client logged in as the user called ``role`` (None: nobody logged in)."""
        # https: the session cookie is Secure because PUBLIC_URL is https.
        with TestClient(self.app, base_url="https://testserver", follow_redirects=False) as http:
            logged = LoggedIn(http, "")
            if role is not None:
                logged.token = log_in(http, role)
            yield logged

    def run_cli(self, *args: str) -> Result:
        """Run ``dispatcher`` with the desk's database, secret and public address."""
        settings = self.settings
        env = {
            "DATABASE_URL": settings.database_url,
            "SECRET_KEY": settings.secret_keys[0],
            "PUBLIC_URL": settings.public_url,
            "SENDING_HOURS": settings.sending_hours or "00:00-24:00",
            "NATIONAL_HOLIDAYS": "1" if settings.national_holidays else "0",
            "LOCAL_HOLIDAYS": settings.local_holidays,
        }
        return CliRunner().invoke(cli, list(args), env=env, catch_exceptions=False)

    def approve(self, edition_id: int) -> None:
        """Approve the edition as the user ``approver`` (preflight runs: fake it first)."""
        with self.sessions.begin() as session:
            approvals.approve(session, edition_id, "approver", self.settings)


@dataclass
class LoggedIn:
    http: TestClient
    token: str

    def post(
        self, path: str, data: dict[str, object] | None = None, files: Any = None
    ) -> httpx.Response:
        """POST a form (and files) with the session's CSRF token."""
        form = {"csrf_token": self.token, **(data or {})}
        response: httpx.Response = self.http.post(path, data=form, files=files)
        return response


def make_desk(settings: Settings, sessions: sessionmaker[Session], transport: Transport) -> Desk:
    """The app on ``sessions``, with a user of every role."""
    with sessions.begin() as session:
        for role in ROLES:
            create_user(session, role, PASSWORD, role)
    app = create_app(settings, sessions=sessions, transport_factory=lambda: transport)
    return Desk(app, sessions, settings, transport)


def log_in(http: TestClient, username: str) -> str:
    """Log in through the form; returns the new session's CSRF token."""
    token = csrf_of(http.get("/login").text)
    answer = http.post(
        "/login",
        data={"csrf_token": token, "username": username, "password": PASSWORD, "next": "/admin"},
    )
    assert answer.status_code == 303, answer.text
    return csrf_of(http.get("/admin").text)


def csrf_of(page: str) -> str:
    found = _CSRF.search(page)
    assert found, "no CSRF token on the page"
    return found.group(1)


def fake_preflight(
    monkeypatch: pytest.MonkeyPatch,
    errors: tuple[Finding, ...] = (),
    warnings: tuple[Finding, ...] = (),
) -> None:
    """Make preflight answer at once with these findings (the real one runs SpamAssassin)."""
    report = PreflightReport(errors=list(errors), warnings=list(warnings))
    monkeypatch.setattr(preflight, "run_preflight", lambda *args, **kwargs: report)
