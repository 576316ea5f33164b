"""Named reads of sends for the office's pages and the command line.

Services in the sense of the house rules: a session in, plain rows out, nothing
written. The ledger's counts and a send's progress are the status read model's
business (:mod:`dispatcher.sends.status`), not this module's.
"""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from dispatcher.errors import NotFoundError
from dispatcher.models import Send
from dispatcher.sends import ledger


def sends_of_edition(session: Session, edition_id: int) -> list[Send]:
    """An edition's sends, oldest first."""
    query = select(Send).where(Send.edition_id == edition_id).order_by(Send.id)
    return list(session.scalars(query))


def list_slugs(session: Session, send_id: int) -> tuple[str, ...]:
    """The slugs of the lists a send goes to, in alphabetical order."""
    return ledger.list_slugs(session, [send_id])[send_id]


def edition_of_send(session: Session, send_id: int) -> int:
    """The id of the edition a send carries.

    :raises NotFoundError: if there is no send with this id
    """
    edition_id = session.scalar(select(Send.edition_id).where(Send.id == send_id))
    if edition_id is None:
        raise NotFoundError(f"no send with id {send_id}")
    return edition_id
