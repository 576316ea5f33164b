"""Choosing sections at sign-up (issue 14): optional, kept with the request, applied only
when its own link confirms it, and only the newsletter's own sections."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from dispatcher.config import Settings
from dispatcher.web.app import create_app
from subscribers.models import Subscriber
from tests.flows.test_public_pages import link_in, sign_up
from tests.smtpd import SmtpServer


@pytest.fixture
def app(smtp_settings: Settings, pg_sessions: sessionmaker[Session], newsletter: int) -> FastAPI:
    return create_app(smtp_settings, sessions=pg_sessions)


@pytest.fixture
def client(app: FastAPI) -> Iterator[TestClient]:
    with TestClient(app, follow_redirects=False) as test_client:
        yield test_client


def attributes(sessions: sessionmaker[Session], address: str) -> dict[str, object]:
    with sessions() as session:
        found = session.scalar(select(Subscriber.attributes).where(Subscriber.email == address))
        assert found is not None
        return found


def test_sections_ticked_at_sign_up_apply_when_the_link_confirms(
    client: TestClient, smtpd: SmtpServer, pg_sessions: sessionmaker[Session]
) -> None:
    form = client.get("/iscriviti?lista=cronache").text
    assert 'name="sections" value="ambiente"' in form and "Sezioni (facoltativo)" in form
    assert "Se non ne scegli nessuna riceverai tutti gli articoli" in form
    answer = sign_up(client, "nuova@example.org", sections=["lavoro", "ambiente", "sport"])
    assert answer.status_code == 200
    assert attributes(pg_sessions, "nuova@example.org") == {}  # nothing before the link
    assert smtpd.wait_for(1)
    assert client.post(link_in(smtpd.accepted[0], "/conferma/")).status_code == 200
    assert attributes(pg_sessions, "nuova@example.org") == {"sections": ["ambiente", "lavoro"]}


def test_a_sign_up_without_sections_leaves_the_choice_alone(
    client: TestClient, smtpd: SmtpServer, pg_sessions: sessionmaker[Session]
) -> None:
    assert sign_up(client, "altra@example.org").status_code == 200
    assert smtpd.wait_for(1)
    assert client.post(link_in(smtpd.accepted[0], "/conferma/")).status_code == 200
    assert attributes(pg_sessions, "altra@example.org") == {}
