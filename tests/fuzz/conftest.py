"""Fixtures for the fuzz tests: the web app on real PostgreSQL with some of everything.

- ``desk_settings``: the root conftest's ``desk`` runs with an API token here.
- ``site``: the app of ``desk`` (a user of every role), a newsletter with a reader, the
  example edition, a send and a picture, with the ids and tokens paths need.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass

import pytest
from fastapi import FastAPI
from sqlalchemy.orm import Session, sessionmaker

from dispatcher.config import Settings
from dispatcher.office.images import store_image
from dispatcher.sends import ledger
from subscribers.orm import utcnow
from subscribers.tokens import Purpose, Signer
from tests.support.admin import Desk
from tests.support.data import add_example_edition, add_subscribers, create_newsletter

API_TOKEN = "token-di-prova-per-le-api"
PNG = bytes.fromhex("89504e470d0a1a0a0000000d4948445200000001000000010806000000")


@dataclass
class Site:
    """The app, and the ids of what is stored, for paths that need real ones."""

    app: FastAPI
    sessions: sessionmaker[Session]
    values: dict[str, str]
    tokens: dict[str, str]  # path prefix -> a valid token there (/u/, /p/, /conferma/)

    def values_for(self, path: str) -> dict[str, str]:
        """Real values for the parameters of ``path``, with the token its page takes."""
        found = [token for prefix, token in self.tokens.items() if path.startswith(prefix)]
        return self.values | ({"token": found[0]} if found else {})


@pytest.fixture
def desk_settings(make_settings: Callable[..., Settings], pg_url: str) -> Settings:
    """The desk's settings, with an API token so that the read-only API can be reached."""
    return make_settings(database_url=pg_url, api_token=API_TOKEN)


@pytest.fixture
def site(desk: Desk, quick_preflight: None) -> Iterator[Site]:
    # quick_preflight: approving would run SpamAssassin for seconds.
    settings, pg_sessions = desk.settings, desk.sessions
    with pg_sessions.begin() as session:
        list_id = create_newsletter(session).id
        (reader,) = add_subscribers(session, list_id, 1)
        edition_id = add_example_edition(session, settings)
        send = ledger.create_send(session, edition_id, ["cronache"], utcnow())
        image = store_image(session, PNG, "logo.png", "Il logo", "editor", edition_id)
        values = {
            "edition_id": str(edition_id),
            "send_id": str(send.id),
            "slug": "cronache",
            "number": "44",
            "image_id": str(image.id),
            "filename": image.filename,
        }
    signer = Signer(settings.all_secret_keys)
    tokens = {
        "/u/": signer.sign(Purpose.UNSUBSCRIBE, reader, list_id),
        "/p/": signer.sign(Purpose.PREFERENCES, reader),
        "/conferma/": signer.sign_expiring(Purpose.CONFIRM, reader, list_id),
    }
    yield Site(desk.app, pg_sessions, values, tokens)
