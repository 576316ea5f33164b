"""The desk's dry-run button: the edition's send path into a folder, and the report shown.

Issue 14, part 4. The button starts a dry run into a folder under ``DRY_RUN_DIR``; the
beat's reconciler hands its batches to the workers (here run in this process, as
``drain`` does), which write one message per recipient and send nothing; the page then
shows who got a message and who was left out and why.
"""

from __future__ import annotations

import email
import email.policy
import json
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from dispatcher.config import Settings
from dispatcher.models import Delivery
from dispatcher.office import scheduling
from dispatcher.sends.runtime import Runtime
from dispatcher.transport.memory import MemoryTransport
from tests.support.admin import Desk
from tests.support.data import add_subscribers, address
from tests.support.sending import drain

pytestmark = pytest.mark.usefixtures("quick_preflight")


@pytest.fixture
def desk_settings(make_settings: Callable[..., Settings], pg_url: str, tmp_path: Path) -> Settings:
    return make_settings(database_url=pg_url, dry_run_dir=str(tmp_path / "dry-runs"))


@pytest.fixture
def runtime(desk: Desk, memory: MemoryTransport) -> Iterator[Runtime]:
    """A worker's runtime whose production transport is ``memory``: it must stay empty."""
    made = Runtime(desk.settings, transport_factory=lambda: memory)
    yield made
    made.close()


def test_the_button_runs_a_dry_run_and_the_page_shows_its_report(
    desk: Desk, edition_id: int, newsletter: int, runtime: Runtime, memory: MemoryTransport
) -> None:
    with desk.sessions.begin() as session:
        add_subscribers(session, newsletter, 3)
        add_subscribers(session, newsletter, 1, start=3, status="pending")
    with desk.client("editor") as editor:
        assert 'id="dry-run-start"' in editor.http.get(f"/admin/editions/{edition_id}").text
        answer = editor.post(f"/admin/editions/{edition_id}/dry-runs", {"lists": "cronache"})
        assert answer.status_code == 303, answer.text
        report_url = answer.headers["location"]
        running = editor.http.get(report_url).text
        assert 'http-equiv="refresh"' in running and "3 messaggi ancora da scrivere" in running

        done = scheduling.run_reconciler(desk.sessions, desk.settings)  # what the beat does
        drain(runtime, done.enqueue)
        shown = editor.http.get(report_url).text

    assert memory.sent == []
    assert 'http-equiv="refresh"' not in shown
    assert "Messaggi scritti: 3" in shown and "Esclusi: 1" in shown
    assert address(3) in shown and "not confirmed" in shown
    (folder,) = (Path(desk.settings.dry_run_dir)).iterdir()
    recipients = sorted(
        str(email.message_from_bytes(p.read_bytes(), policy=email.policy.SMTP)["To"])
        for p in folder.glob("*.eml")
    )
    assert [r.rpartition("<")[2].rstrip(">") for r in recipients] == [address(i) for i in range(3)]
    assert json.loads((folder / "report.json").read_text())["written"] == 3
    with desk.sessions() as session:
        statuses = set(session.scalars(select(Delivery.status)))
    assert statuses == {"skipped"}  # nobody has received the edition


def test_an_operator_cannot_start_a_dry_run(
    desk: Desk, edition_id: int, pg_sessions: sessionmaker[Session]
) -> None:
    with desk.client("operator") as viewer:
        page = viewer.http.get(f"/admin/editions/{edition_id}").text
        answer = viewer.post(f"/admin/editions/{edition_id}/dry-runs", {"lists": "cronache"})
    assert 'id="dry-run-start"' not in page
    assert answer.status_code == 403
    with pg_sessions() as session:
        assert session.scalars(select(Delivery.id)).first() is None
