"""Message-IDs never repeat across databases, and stay the same for every attempt."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from sqlalchemy import update

from dispatcher.config import SendingSettings, Settings
from dispatcher.models import Send
from dispatcher.sends.batch import run_batch
from dispatcher.sends.runtime import Runtime
from dispatcher.transport.memory import MemoryTransport
from tests.support.data import add_example_edition, add_subscribers, create_newsletter
from tests.support.database import migrate
from tests.support.sending import start_send

POLICY = SendingSettings(batch_size=10, dispatch_window=100)


def _send_in_new_database(
    make_settings: Callable[..., Settings], folder: Path, legacy: bool = False
) -> list[str]:
    """A new database, one list of three, one send; the Message-IDs that went out."""
    url = f"sqlite:///{folder}/dispatcher.sqlite"
    migrate(url)
    memory = MemoryTransport()
    runtime = Runtime(make_settings(database_url=url, sending=POLICY), lambda: memory)
    try:
        with runtime.sessions.begin() as session:
            newsletter = create_newsletter(session)
            add_subscribers(session, newsletter.id, 3)
            edition_id = add_example_edition(session, runtime.settings)
        queue: list[int] = []
        send_id = start_send(runtime.sessions, edition_id, ("cronache",), 10, 10, queue.append)
        if legacy:  # a send made before sends had a key
            with runtime.sessions.begin() as session:
                session.execute(update(Send).where(Send.id == send_id).values(message_key=None))
        while queue:
            run_batch(runtime, queue.pop(0), queue.append)
    finally:
        runtime.close()
    return sorted(message.message_id for message in memory.sent)


def test_two_new_databases_never_send_the_same_message_id(
    make_settings: Callable[..., Settings], tmp_path: Path
) -> None:
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    first = _send_in_new_database(make_settings, tmp_path / "a")
    second = _send_in_new_database(make_settings, tmp_path / "b")
    assert len(first) == len(second) == 3
    assert not set(first) & set(second)
    domain = first[0].rsplit("@", 1)[1].rstrip(">")
    assert all(mid.startswith("<") and mid.endswith(f"@{domain}>") for mid in first + second)


def test_a_send_made_before_the_upgrade_keeps_its_old_ids(
    make_settings: Callable[..., Settings], tmp_path: Path
) -> None:
    ids = _send_in_new_database(make_settings, tmp_path, legacy=True)
    assert all(mid.startswith("<") and ".1.dispatch@" in mid for mid in ids)
