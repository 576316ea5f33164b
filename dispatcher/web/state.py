"""What the web app's handlers share, built once by the app factory."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Annotated

from fastapi import Depends, Form, Path, Request
from sqlalchemy.orm import Session, sessionmaker

from dispatcher.config import Settings
from dispatcher.transport.base import Transport
from subscribers.tokens import Signer


@dataclass
class WebState:
    """Settings, database sessions, token signer and a transport for transactional mail.

    ``transport_factory`` makes a transport for one message (confirmation mails,
    proofs); the web app never holds an SMTP connection between requests.
    """

    settings: Settings
    sessions: sessionmaker[Session]
    signer: Signer
    transport_factory: Callable[[], Transport]
    extras: dict[str, object] = field(default_factory=dict)


def web_state(request: Request) -> WebState:
    """FastAPI dependency: the app's shared state."""
    state: WebState = request.app.state.web
    return state


def db_session(request: Request) -> Iterator[Session]:
    """FastAPI dependency: one transaction per request, committed when the handler returns."""
    with web_state(request).sessions.begin() as session:
        yield session


#: Handler parameter types: ``def page(session: DbSession, state: State)``. The session
#: is committed when the handler returns, before the response goes out, so a page that
#: says "done" is never sent for a change that could still fail to commit.
DbSession = Annotated[Session, Depends(db_session, scope="function")]
State = Annotated[WebState, Depends(web_state)]

MAX_ROW_ID = 2**63 - 1  # ids are PostgreSQL bigints
MAX_EDITION_NUMBER = 2**31 - 1  # the editions.number column is a PostgreSQL integer

#: A row id in a path (``/admin/editions/{edition_id}``). A number past the column's
#: range is refused like any malformed one (400, or 422 under /api/), rather than
#: reaching PostgreSQL, which would fail the request with "bigint out of range".
RowId = Annotated[int, Path(ge=1, le=MAX_ROW_ID)]
#: An edition's number in a path (``/archive/{slug}/{number}``).
EditionNumber = Annotated[int, Path(ge=1, le=MAX_EDITION_NUMBER)]
#: A row id in a form (``edition_id`` of an image upload), bounded like :data:`RowId`:
#: past the column's range it is a 400 naming the field, not a database error.
FormRowId = Annotated[int | None, Form(ge=1, le=MAX_ROW_ID)]
