"""Which variant each ledger row gets, and the messages built for them, on PostgreSQL and
on SQLite (the demo's database): the JSON of people's sections is read the same on both."""

from __future__ import annotations

import email
import email.policy
from collections.abc import Callable

import pytest
from sqlalchemy import select, update
from sqlalchemy.orm import Session, sessionmaker

from dispatcher.config import Settings
from dispatcher.message.personalise import Recipient
from dispatcher.models import Delivery, EditionVariant
from dispatcher.office.edition_store import add_edition
from dispatcher.sends import ledger
from dispatcher.sends.compose import personaliser_for
from subscribers.models import Subscriber
from subscribers.orm import utcnow
from subscribers.tokens import Signer
from tests.conftest import SECRET
from tests.support.data import add_subscribers, address, create_newsletter
from tests.support.variants import EDITION, READERS

Sessions = sessionmaker[Session]


@pytest.fixture(params=["postgresql", "sqlite"])
def database(request: pytest.FixtureRequest) -> tuple[Sessions, str]:
    name = "pg" if request.param == "postgresql" else "sqlite"
    sessions: Sessions = request.getfixturevalue(f"{name}_sessions")
    return sessions, request.getfixturevalue(f"{name}_url")


def test_each_row_names_its_variant_and_each_variant_has_its_message(
    database: tuple[Sessions, str], make_settings: Callable[..., Settings]
) -> None:
    sessions, url = database
    settings = make_settings(database_url=url)
    with sessions.begin() as session:
        list_id = create_newsletter(session).id
        add_subscribers(session, list_id, len(READERS))
        for index, (language, chosen, _) in READERS.items():
            attributes = {} if chosen is None else {"sections": sorted(chosen)}
            session.execute(
                update(Subscriber)
                .where(Subscriber.email == address(index))
                .values(language=language, attributes=attributes)
            )
        edition_id = add_edition(session, EDITION, "variants.md", settings).id
        send_id = ledger.create_send(session, edition_id, ["cronache"], utcnow()).id
    with sessions.begin() as session:
        ledger.start_send(session, send_id, utcnow(), 100)
    with sessions.begin() as session:
        rows = session.execute(
            select(Delivery.id, Delivery.subscriber_id, Delivery.list_id)
            .add_columns(Subscriber.email, Delivery.variant)
            .join(Subscriber, Subscriber.id == Delivery.subscriber_id)
        ).all()
        assert {row.email: row.variant for row in rows} == {
            address(i): variant for i, (_, _, variant) in READERS.items()
        }
        personaliser = personaliser_for(session, send_id, settings, Signer([SECRET]))
    with sessions() as session:
        compiled = set(session.scalars(select(EditionVariant.key)))
    assert compiled | {"it"} == {variant for _, _, variant in READERS.values()}
    for row in rows:
        recipient = Recipient(row.id, row.subscriber_id, row.list_id, row.email, "", row.variant)
        data = personaliser.message(recipient, "Fri, 06 Dec 2024 10:00:00 +0000").data
        english = row.variant.startswith("en")
        subject = str(email.message_from_bytes(data, policy=email.policy.SMTP)["Subject"])
        assert (subject == "Subject of the week") is english, (row.variant, subject)
