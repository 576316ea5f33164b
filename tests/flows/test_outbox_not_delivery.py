"""An outbox counts as delivery only where it was chosen as the production transport.

Issue 12, item 8. A send through ``SMTP_URL=file:///...`` used to record the real
ledger as sent, so the real send afterwards was refused, and with ``--again``
reached nobody. Unless ``OUTBOX_IS_DELIVERY=1`` (the demo), what the outbox writes is
recorded ``skipped``, with the file named in the reply: a later send through a real
SMTP server (127.0.0.1) reaches everyone, once.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from dispatcher.config import SendingSettings, Settings, SmtpSettings
from dispatcher.errors import StateError
from dispatcher.models import Send
from dispatcher.sends.runtime import Runtime
from tests.smtpd import SmtpServer
from tests.support.data import add_example_edition, add_subscribers, address, create_newsletter
from tests.support.sending import drain, ledger_rows, start_send

POLICY = SendingSettings(batch_size=10, dispatch_window=100, retry_base=60, lease_seconds=30)
COUNT = 25


@pytest.fixture
def relay() -> Iterator[SmtpServer]:
    with SmtpServer(pipelining=True) as server:
        yield server


@pytest.fixture
def runtime_for(
    make_settings: Callable[..., Settings], pg_url: str, pg_sessions: object
) -> Iterator[Callable[[SmtpSettings], Runtime]]:
    """A Runtime whose transport is the one its SMTP settings name, as a worker builds it."""
    made: list[Runtime] = []

    def build(smtp: SmtpSettings) -> Runtime:
        settings = make_settings(database_url=pg_url, sending=POLICY).with_overrides(smtp=smtp)
        made.append(Runtime(settings))
        return made[-1]

    yield build
    for runtime in made:
        runtime.close()


def _edition(sessions: sessionmaker[Session], settings: Settings) -> int:
    with sessions.begin() as session:
        newsletter = create_newsletter(session)
        add_subscribers(session, newsletter.id, COUNT)
        return add_example_edition(session, settings)


def _send(runtime: Runtime, edition_id: int, *, again: bool = False) -> int:
    queue: list[int] = []
    send_id = start_send(runtime.sessions, edition_id, ("cronache",), 100, 10, queue.append, again)
    drain(runtime, queue)
    return send_id


def _state(sessions: sessionmaker[Session], send_id: int) -> str:
    with sessions() as session:
        return session.scalars(select(Send.state).where(Send.id == send_id)).one()


def test_a_send_through_an_outbox_reaches_nobody_and_the_real_send_reaches_everyone_once(
    runtime_for: Callable[[SmtpSettings], Runtime], relay: SmtpServer, tmp_path: Path
) -> None:
    outbox = runtime_for(SmtpSettings(url=f"file://{tmp_path}/outbox"))
    edition_id = _edition(outbox.sessions, outbox.settings)
    dry = _send(outbox, edition_id)

    rows = ledger_rows(outbox.sessions, dry)
    assert {row.status for row in rows} == {"skipped"}
    assert all((tmp_path / "outbox" / f"{row.id}.eml").is_file() for row in rows)
    assert all(
        (row.smtp_reply or "").startswith("not delivered: written to an outbox") for row in rows
    )
    assert _state(outbox.sessions, dry) == "finished"

    real = runtime_for(SmtpSettings(url=relay.url, connect_timeout=5, command_timeout=10))
    sent = _send(real, edition_id)  # not refused: nobody received it yet
    assert {row.status for row in ledger_rows(real.sessions, sent)} == {"sent"}
    received = Counter(rcpt for message in relay.accepted for rcpt in message.rcpt_tos)
    assert received == Counter({address(i): 1 for i in range(COUNT)})


def test_an_outbox_chosen_as_the_production_transport_counts_as_delivery(
    runtime_for: Callable[[SmtpSettings], Runtime], relay: SmtpServer, tmp_path: Path
) -> None:
    smtp = SmtpSettings(url=f"file://{tmp_path}/outbox", outbox_is_delivery=True)
    outbox = runtime_for(smtp)
    edition_id = _edition(outbox.sessions, outbox.settings)
    first = _send(outbox, edition_id)
    assert {row.status for row in ledger_rows(outbox.sessions, first)} == {"sent"}

    real = runtime_for(SmtpSettings(url=relay.url, connect_timeout=5, command_timeout=10))
    with pytest.raises(StateError, match="already sent to cronache"):
        _send(real, edition_id)
    again = _send(real, edition_id, again=True)
    assert ledger_rows(real.sessions, again) == [] and relay.messages == []


def test_the_setting_is_read_from_the_environment() -> None:
    base = {"SECRET_KEY": "k", "SMTP_URL": "file:///srv/outbox"}
    assert not Settings.from_env(base).smtp.outbox_is_delivery
    assert Settings.from_env(base | {"OUTBOX_IS_DELIVERY": "1"}).smtp.outbox_is_delivery
