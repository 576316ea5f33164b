"""Every send action on the desk asks first, saying what will happen, and does it once.

Issue 13, part 5: "Invia ora" shows the real audience ("2.027 iscritti", the Italian
way) before anything leaves; the confirmation binds that count, so a changed audience
asks again; pressing "yes" twice starts one send; a correction with an edition nobody
approved is refused by the desk and the command line alike; each role gets what it
may do and no more.
"""

from __future__ import annotations

import datetime as dt
import html
import re
import threading
import time
from collections import Counter
from collections.abc import Callable

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from dispatcher.models import Delivery, Send
from dispatcher.office import calendar, send_actions
from dispatcher.office.edition_store import add_edition
from dispatcher.sends import reconcile
from dispatcher.sends.runtime import Runtime
from dispatcher.transport.memory import MemoryTransport
from subscribers.orm import utcnow
from tests.support.admin import Desk, LoggedIn
from tests.support.data import EDITION_FILE, add_subscribers
from tests.support.sending import drain

pytestmark = pytest.mark.usefixtures("quick_preflight")

_HIDDEN = re.compile(r'name="(token|shown)" value="([^"]*)"')


def form_of(page: str) -> dict[str, str]:
    """The confirmation form's token and the count it showed."""
    return dict(_HIDDEN.findall(page))


def statuses(desk: Desk, send_id: int) -> Counter[str]:
    with desk.sessions() as session:
        rows = session.scalars(select(Delivery.status).where(Delivery.send_id == send_id))
        return Counter(rows)


def send_ids(desk: Desk) -> list[int]:
    with desk.sessions() as session:
        return list(session.scalars(select(Send.id).order_by(Send.id)))


def ask_now(client: LoggedIn, edition_id: int) -> str:
    """Press "Invia ora" on the edition's schedule form; the confirmation page."""
    answer = client.post(f"/admin/editions/{edition_id}/sends", {"lists": "cronache", "now": "1"})
    assert answer.status_code == 200, answer.text
    return answer.text


def confirm_now(client: LoggedIn, edition_id: int, page: str) -> object:
    data = {"lists": "cronache", **form_of(page)}
    return client.post(f"/admin/editions/{edition_id}/send/confirm", data)


def deliver(runtime: Runtime, send_id: int) -> None:
    """What the beat and the workers do: take the send's batches and run them."""
    with runtime.sessions.begin() as session:
        batch_ids = reconcile.take_pending(session, send_id, 1000, utcnow())
    drain(runtime, batch_ids)


def test_send_now_says_the_count_the_italian_way_and_sends_nothing_until_confirmed(
    desk: Desk, newsletter: int, edition_id: int
) -> None:
    with desk.sessions.begin() as session:
        add_subscribers(session, newsletter, 2027)
    desk.approve(edition_id)
    with desk.client("approver") as approver:
        page = ask_now(approver, edition_id)
    assert "Invia ora a 2.027 iscritti di Cronache da Palazzo Cisterna?" in page
    assert send_ids(desk) == []  # asking sent nothing, and "no" is only a link back
    assert f'href="/admin/editions/{edition_id}"' in page


def test_confirming_twice_starts_one_send(desk: Desk, newsletter: int, edition_id: int) -> None:
    with desk.sessions.begin() as session:
        add_subscribers(session, newsletter, 7)
    desk.approve(edition_id)
    with desk.client("approver") as approver:
        page = ask_now(approver, edition_id)
        assert "Invia ora a 7 iscritti di" in page
        first = confirm_now(approver, edition_id, page)
        second = confirm_now(approver, edition_id, page)  # the button pressed twice

    assert first.status_code == 303, first.text  # type: ignore[attr-defined]
    (send_id,) = send_ids(desk)
    assert first.headers["location"] == f"/admin/sends/{send_id}"  # type: ignore[attr-defined]
    assert statuses(desk, send_id) == Counter({"queued": 7})
    assert second.status_code == 409  # type: ignore[attr-defined]
    assert "già stata inviata a: cronache (invio" in second.text  # type: ignore[attr-defined]
    assert "--again" not in second.text  # type: ignore[attr-defined]
    assert 'id="confirm"' not in second.text  # type: ignore[attr-defined]


def test_an_audience_that_changed_since_the_confirmation_was_shown_is_asked_again(
    desk: Desk, newsletter: int, edition_id: int
) -> None:
    with desk.sessions.begin() as session:
        add_subscribers(session, newsletter, 7)
    desk.approve(edition_id)
    with desk.client("approver") as approver:
        page = ask_now(approver, edition_id)
        with desk.sessions.begin() as session:
            add_subscribers(session, newsletter, 1, start=100)
        again = confirm_now(approver, edition_id, page)
        assert send_ids(desk) == []
        assert again.status_code == 409  # type: ignore[attr-defined]
        assert "la conferma era per 7 e ora sono 8" in again.text  # type: ignore[attr-defined]
        done = confirm_now(approver, edition_id, again.text)  # type: ignore[attr-defined]

    assert done.status_code == 303  # type: ignore[attr-defined]
    (send_id,) = send_ids(desk)
    assert statuses(desk, send_id) == Counter({"queued": 8})


def test_a_forged_count_is_not_what_was_confirmed(
    desk: Desk, newsletter: int, edition_id: int
) -> None:
    with desk.sessions.begin() as session:
        add_subscribers(session, newsletter, 3)
    desk.approve(edition_id)
    with desk.client("approver") as approver:
        page = ask_now(approver, edition_id)
        forged = {"lists": "cronache", "token": "0" * 64, "shown": "3"}
        answer = approver.post(f"/admin/editions/{edition_id}/send/confirm", forged)
    assert answer.status_code == 409 and "Controlla di nuovo" in answer.text
    assert send_ids(desk) == [] and "Invia ora a 3 iscritti" in page


def test_an_unapproved_edition_is_refused_before_the_confirmation(
    desk: Desk, newsletter: int, edition_id: int
) -> None:
    with desk.sessions.begin() as session:
        add_subscribers(session, newsletter, 2)
    with desk.client("approver") as approver:
        answer = approver.post(
            f"/admin/editions/{edition_id}/sends", {"lists": "cronache", "now": "1"}
        )
    assert answer.status_code == 409
    assert "non è approvata nella versione attuale" in answer.text
    assert 'id="confirm"' not in answer.text and send_ids(desk) == []
    desk.approve(edition_id)
    with desk.client("approver") as approver:
        no_list = approver.post(f"/admin/editions/{edition_id}/sends", {"now": "1"})
    assert no_list.status_code == 409 and "Scegli almeno una lista" in no_list.text


def test_editors_and_operators_may_follow_a_send_but_not_start_or_stop_one(
    desk: Desk, newsletter: int, edition_id: int
) -> None:
    with desk.sessions.begin() as session:
        add_subscribers(session, newsletter, 2)
    desk.approve(edition_id)
    with desk.client("approver") as approver:
        confirm_now(approver, edition_id, ask_now(approver, edition_id))
    (send_id,) = send_ids(desk)
    for role in ("editor", "operator"):
        with desk.client(role) as other:
            page = other.http.get(f"/admin/sends/{send_id}")
            figures = other.http.get(f"/admin/sends/{send_id}/progress.json").json()
            asked = other.post(f"/admin/sends/{send_id}/actions/pause/ask")
            now = other.post(f"/admin/editions/{edition_id}/send/ask", {"lists": "cronache"})
        assert page.status_code == 200 and 'aria-live="polite"' in page.text
        assert figures["state"] == "running" and figures["total"] == "2"
        assert asked.status_code == 403 and now.status_code == 403
        assert 'id="action-pause"' not in page.text


def test_an_approver_pauses_resumes_and_cancels_each_after_saying_what_happens(
    desk: Desk, newsletter: int, edition_id: int
) -> None:
    with desk.sessions.begin() as session:
        add_subscribers(session, newsletter, 5)
    desk.approve(edition_id)
    with desk.client("approver") as approver:
        confirm_now(approver, edition_id, ask_now(approver, edition_id))
        (send_id,) = send_ids(desk)
        for action, question, state in (
            ("pause", f"Metti in pausa l'invio {send_id}? Restano 5 messaggi", "paused"),
            ("resume", f"Riprendi l'invio {send_id}? Restano 5 messaggi", "running"),
            ("cancel", "5 messaggi non ancora partiti non saranno inviati", "cancelled"),
        ):
            page = approver.post(f"/admin/sends/{send_id}/actions/{action}/ask")
            assert question in html.unescape(page.text), page.text
            data = form_of(page.text)
            done = approver.post(f"/admin/sends/{send_id}/actions/{action}/confirm", data)
            assert done.status_code == 303, done.text
            with desk.sessions() as session:
                assert session.get_one(Send, send_id).state == state
            if action == "pause":
                shown = approver.http.get(f"/admin/sends/{send_id}/progress.json").json()
                assert shown["state_reason"] == "Messo in pausa dalla scrivania da approver"
            twice = approver.post(f"/admin/sends/{send_id}/actions/{action}/confirm", data)
            assert twice.status_code == 409, twice.text
    assert statuses(desk, send_id) == Counter({"skipped": 5})
    assert "Non è possibile ora: l'invio" in html.unescape(twice.text)
    assert "«Annullato»" in twice.text


def _second_edition(desk: Desk) -> int:
    source = EDITION_FILE.read_text(encoding="utf-8").replace("number: 44", "number: 45", 1)
    with desk.sessions.begin() as session:
        return add_edition(session, source, "45.md", desk.settings).id


def test_a_correction_with_an_unapproved_edition_is_refused_on_the_desk_and_the_cli(
    desk: Desk,
    newsletter: int,
    edition_id: int,
    make_runtime: Callable[..., Runtime],
    memory: MemoryTransport,
) -> None:
    with desk.sessions.begin() as session:
        add_subscribers(session, newsletter, 4)
    desk.approve(edition_id)
    with desk.client("approver") as approver:
        confirm_now(approver, edition_id, ask_now(approver, edition_id))
    (send_id,) = send_ids(desk)
    deliver(make_runtime(), send_id)
    correcting = _second_edition(desk)
    with desk.client("approver") as approver:
        page = approver.http.get(f"/admin/sends/{send_id}").text
        refused = approver.post(
            f"/admin/sends/{send_id}/actions/correction/ask", {"edition": str(correcting)}
        )
        assert f'<option value="{correcting}">' in page
        assert refused.status_code == 409
        assert "non è approvata nella versione attuale" in refused.text
        cli = desk.run_cli("send", "correction", str(send_id), "--edition", str(correcting))
        assert cli.exit_code == 1 and "not approved" in cli.output, cli.output
        desk.approve(correcting)
        asked = approver.post(
            f"/admin/sends/{send_id}/actions/correction/ask", {"edition": str(correcting)}
        )
        assert "Invia la correzione alle 4 persone" in asked.text, asked.text
        data = {"edition": str(correcting), **form_of(asked.text)}
        done = approver.post(f"/admin/sends/{send_id}/actions/correction/confirm", data)
    assert done.status_code == 303, done.text
    assert send_ids(desk) == [send_id, send_id + 1]
    assert statuses(desk, send_id + 1) == Counter({"queued": 4})
    assert len(memory.sent) == 4
    # A correction is followed by nothing that reaches people: a late send of it would
    # give the correcting edition to people who never had the original.
    with desk.client("approver") as approver:
        page = approver.http.get(f"/admin/sends/{send_id + 1}").text
        late = approver.post(f"/admin/sends/{send_id + 1}/actions/late/ask")
    assert 'id="action-late"' not in page and 'id="action-pause"' in page
    assert late.status_code == 409 and "Non è possibile ora" in late.text


def test_late_joiners_and_those_who_did_not_get_it_are_counted_apart(
    desk: Desk,
    newsletter: int,
    edition_id: int,
    make_runtime: Callable[..., Runtime],
    memory: MemoryTransport,
) -> None:
    with desk.sessions.begin() as session:
        add_subscribers(session, newsletter, 3)
    desk.approve(edition_id)
    memory.responder = lambda m: (550, "5.1.1 unknown") if m.delivery_id == 1 else (250, "ok")
    with desk.client("approver") as approver:
        confirm_now(approver, edition_id, ask_now(approver, edition_id))
        (send_id,) = send_ids(desk)
        deliver(make_runtime(), send_id)
        with desk.sessions.begin() as session:
            add_subscribers(session, newsletter, 2, start=10)
        late = approver.post(f"/admin/sends/{send_id}/actions/late/ask")
        resend = approver.post(f"/admin/sends/{send_id}/actions/resend/ask")
    assert "Invia ora a 2 nuovi iscritti di" in late.text, late.text
    # The one refused (550) did not get it: "again" reaches them and the newcomers.
    shown = html.unescape(resend.text)
    assert "Invia ora a 3 iscritti di Cronache da Palazzo Cisterna che non l'hanno" in shown
    with desk.sessions() as session:
        total = session.scalar(select(func.count()).select_from(Send))
    assert total == 1


def test_a_calendar_block_refuses_send_now_in_italian_and_an_admin_may_override_it(
    desk: Desk, newsletter: int, edition_id: int
) -> None:
    with desk.sessions.begin() as session:
        add_subscribers(session, newsletter, 2)
        now = utcnow()
        calendar.add_block(
            session, now - dt.timedelta(hours=1), now + dt.timedelta(hours=1),
            "Elezioni regionali: par condicio", "admin",
        )  # fmt: skip
    desk.approve(edition_id)
    with desk.client("approver") as approver:
        refused = approver.post(
            f"/admin/editions/{edition_id}/sends", {"lists": "cronache", "now": "1"}
        )
        forbidden = approver.post(
            f"/admin/editions/{edition_id}/send/ask", {"lists": "cronache", "override": "x"}
        )
    assert refused.status_code == 409, refused.text
    assert "Invio non consentito: periodo bloccato" in refused.text
    assert "Elezioni regionali" in refused.text and 'id="confirm"' not in refused.text
    assert forbidden.status_code == 409 and "richiede un amministratore" in forbidden.text
    with desk.client("admin") as admin:
        why = {"lists": "cronache", "override": "Allerta meteo: informazione indispensabile"}
        page = admin.post(f"/admin/editions/{edition_id}/send/ask", why)
        assert "Invia ora a 2 iscritti di" in page.text and "Allerta meteo" in page.text
        done = admin.post(f"/admin/editions/{edition_id}/send/confirm", why | form_of(page.text))
    assert done.status_code == 303, done.text
    (send_id,) = send_ids(desk)
    assert statuses(desk, send_id) == Counter({"queued": 2})


def test_english_pages_count_the_english_way(desk: Desk, newsletter: int, edition_id: int) -> None:
    with desk.sessions.begin() as session:
        add_subscribers(session, newsletter, 1234)
    desk.approve(edition_id)
    with desk.client("approver") as approver:
        approver.http.cookies.set("lang", "en")
        answer = approver.post(f"/admin/editions/{edition_id}/send/ask", {"lists": "cronache"})
    assert "Send now to 1,234 subscribers of Cronache da Palazzo Cisterna?" in answer.text


def test_two_confirmations_in_flight_at_once_start_one_send(
    desk: Desk, newsletter: int, edition_id: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Two tabs (or a double click whose first request has not answered yet): both carry a
    # valid token for the same plan; the edition's row lock makes the second wait for the
    # first and then find the edition already sent. The first holds its transaction open
    # a moment after writing the ledger, so that the two surely overlap.
    counted = send_actions.queued

    def slow_queued(session: Session, send_id: int) -> int:
        time.sleep(1.0)
        return counted(session, send_id)

    monkeypatch.setattr(send_actions, "queued", slow_queued)
    with desk.sessions.begin() as session:
        add_subscribers(session, newsletter, 50)
    desk.approve(edition_id)
    with desk.client("approver") as one, desk.client("approver") as two:
        pages = [ask_now(client, edition_id) for client in (one, two)]
        start = threading.Barrier(2)
        answers: list[int] = []

        def confirm(client: LoggedIn, page: str) -> None:
            start.wait()
            answers.append(confirm_now(client, edition_id, page).status_code)  # type: ignore[attr-defined]

        threads = [
            threading.Thread(target=confirm, args=(client, page))
            for client, page in zip((one, two), pages, strict=True)
        ]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(60)
    assert sorted(answers) == [303, 409]
    (send_id,) = send_ids(desk)
    assert statuses(desk, send_id) == Counter({"queued": 50})
