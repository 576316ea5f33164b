"""People in the admin: find someone, read what they received, act on their data by role.

Against the run's PostgreSQL through the desk (the admin app with a user of every
role); a real send through the memory transport fills the ledger the person page reads.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable

from sqlalchemy import func, select

from dispatcher.models import AuditEntry, BounceEvent, Delivery
from dispatcher.sends.runtime import Runtime
from dispatcher.transport.memory import MemoryTransport
from subscribers.models import MailingList, Subscriber, Subscription
from subscribers.suppression import find_suppression
from tests.support.admin import Desk
from tests.support.data import add_readers_and_edition, add_subscribers, create_newsletter
from tests.support.sending import send_everything

MARIA = "Maria.Rossi@Comune.Torino.IT"


def _person(desk: Desk, email: str = MARIA, name: str = "Maria Rossi") -> int:
    """Maria on ``cronache`` and ``eventi``, both confirmed; her id."""
    with desk.sessions.begin() as session:
        lists = session.scalars(select(MailingList.id).order_by(MailingList.id)).all()
        if not lists:
            lists = [create_newsletter(session).id, create_newsletter(session, "eventi").id]
        person = Subscriber(email=email, name=name, language="it", attributes={})
        session.add(person)
        session.flush()
        for list_id in lists:
            session.add(Subscription(list_id=list_id, subscriber_id=person.id, status="confirmed"))
        return person.id


def _statuses(desk: Desk, subscriber_id: int) -> dict[str, str]:
    with desk.sessions() as session:
        rows = session.execute(
            select(MailingList.slug, Subscription.status)
            .join(Subscription, Subscription.list_id == MailingList.id)
            .where(Subscription.subscriber_id == subscriber_id)
        )
        return {slug: status for slug, status in rows}


def test_search_finds_by_prefix_of_address_or_name_whatever_the_case(desk: Desk) -> None:
    maria = _person(desk)
    _person(desk, "giuseppe.verdi@example.org", "Giuseppe Verdi")
    with desk.client("editor") as editor:
        for typed in ("maria.ros", "MARIA", "mar", "maria rossi", "Maria R"):
            page = editor.http.get("/admin/subscribers", params={"q": typed})
            assert page.status_code == 200
            assert f'href="/admin/subscribers/{maria}"' in page.text, typed
            assert "giuseppe" not in page.text.lower(), typed
        # A prefix, not a substring; and LIKE's wildcards match only themselves.
        for typed in ("rossi@", "torino", "%", "_aria"):
            page = editor.http.get("/admin/subscribers", params={"q": typed})
            assert f'href="/admin/subscribers/{maria}"' not in page.text, typed
        assert MARIA in editor.http.get("/admin/subscribers", params={"q": "m"}).text  # as stored


def test_search_pages_through_everyone_in_address_order(desk: Desk) -> None:
    with desk.sessions.begin() as session:
        add_subscribers(session, create_newsletter(session).id, 120)
    seen: list[str] = []
    url: str | None = "/admin/subscribers?q=reader"
    with desk.client("operator") as operator:
        while url:
            page = operator.http.get(url).text
            seen += re.findall(r">(reader\d+@example\.org)</a>", page)
            found = page.split('rel="next" href="')
            url = found[1].split('"')[0].replace("&amp;", "&") if len(found) > 1 else None
    assert len(seen) == 120
    assert seen == sorted(seen) and len(set(seen)) == 120


def test_the_person_page_shows_a_real_send_with_the_servers_reply_and_message_id(
    desk: Desk, make_runtime: Callable[..., Runtime], memory: MemoryTransport
) -> None:
    runtime = make_runtime()
    with runtime.sessions.begin() as session:
        edition_id = add_readers_and_edition(session, runtime.settings, 3)
    messages = send_everything(runtime, memory, edition_id)
    assert len(messages) == 3
    with desk.sessions() as session:
        row = session.scalars(select(Delivery).order_by(Delivery.id).limit(1)).one()
        reader = session.get(Subscriber, row.subscriber_id)
        assert reader is not None and row.message_id
    with desk.client("editor") as editor:
        page = editor.http.get(f"/admin/subscribers/{row.subscriber_id}").text
    assert reader.email in page
    assert f"Ok: queued as MEM{row.id}" in page  # the relay's own words
    assert row.message_id.replace("<", "&lt;").replace(">", "&gt;") in page
    assert 'id="deliveries"' in page and "N. 44" in page
    assert "Cronache da Palazzo Cisterna" in page  # the subscription with its consent


def test_text_from_outside_is_escaped(desk: Desk) -> None:
    evil = _person(desk, "evil@example.org", "<script>alert(1)</script>")
    with desk.client("editor") as editor:
        page = editor.http.get(f"/admin/subscribers/{evil}").text
    assert "<script>alert(1)</script>" not in page
    assert "&lt;script&gt;" in page


def test_unsubscribing_from_one_list_leaves_the_other_and_is_audited(desk: Desk) -> None:
    maria = _person(desk)
    with desk.sessions() as session:
        eventi = session.scalar(select(MailingList.id).where(MailingList.slug == "eventi"))
    with desk.client("editor") as editor:
        assert (
            editor.post(f"/admin/subscribers/{maria}/lists/{eventi}/unsubscribe").status_code == 403
        )
        page = editor.http.get(f"/admin/subscribers/{maria}").text
        assert "/unsubscribe" not in page  # no button for who may not
    with desk.client("admin") as admin:
        done = admin.post(f"/admin/subscribers/{maria}/lists/{eventi}/unsubscribe")
        assert done.status_code == 303
    assert _statuses(desk, maria) == {"cronache": "confirmed", "eventi": "unsubscribed"}
    with desk.sessions() as session:
        entry = session.scalars(
            select(AuditEntry).where(AuditEntry.action == "subscriber.unsubscribe")
        ).one()
        assert (entry.username, entry.target_id, entry.detail) == (
            "admin",
            maria,
            {"list": "eventi"},
        )


def test_the_cli_unsubscribes_from_one_list(desk: Desk) -> None:
    maria = _person(desk)
    result = desk.run_cli("subscribers", "unsubscribe", MARIA.lower(), "--list", "cronache")
    assert result.exit_code == 0, result.output
    assert "unsubscribed from cronache" in result.output
    assert _statuses(desk, maria) == {"cronache": "unsubscribed", "eventi": "confirmed"}
    again = desk.run_cli("subscribers", "unsubscribe", MARIA, "--list", "cronache")
    assert "was not on cronache" in again.output


def test_adding_to_a_list_respects_a_withdrawal(desk: Desk) -> None:
    maria = _person(desk)
    with desk.sessions.begin() as session:
        nuova = MailingList(slug="bandi", name="Bandi", settings={})
        session.add(nuova)
        session.flush()
        bandi = nuova.id
        eventi = session.scalar(select(MailingList.id).where(MailingList.slug == "eventi"))
    with desk.client("admin") as admin:
        added = admin.post(
            f"/admin/subscribers/{maria}/lists", {"list_id": bandi, "confirmed": "true"}
        )
        assert added.status_code == 303
        admin.post(f"/admin/subscribers/{maria}/lists/{eventi}/unsubscribe")
        refused = admin.post(f"/admin/subscribers/{maria}/lists", {"list_id": eventi})
        assert refused.status_code == 400
        assert 'id="problem"' in refused.text
    assert _statuses(desk, maria) == {
        "cronache": "confirmed",
        "eventi": "unsubscribed",
        "bandi": "confirmed",
    }


def test_suppress_puts_the_address_on_the_suppression_list(desk: Desk) -> None:
    maria = _person(desk)
    with desk.client("admin") as admin:
        assert (
            admin.post(f"/admin/subscribers/{maria}/suppress", {"detail": "by letter"}).status_code
            == 303
        )
        page = admin.http.get(f"/admin/subscribers/{maria}").text
        assert 'id="suppressed"' in page
    with desk.sessions() as session:
        found = find_suppression(session, desk.settings.all_secret_keys, MARIA)
        assert found is not None and found.reason == "manual"


def test_the_export_downloads_json_for_an_admin_only(desk: Desk) -> None:
    maria = _person(desk)
    with desk.client("editor") as editor:
        assert editor.http.get(f"/admin/subscribers/{maria}/export").status_code == 403
    with desk.client("admin") as admin:
        answer = admin.http.get(f"/admin/subscribers/{maria}/export")
    assert answer.status_code == 200
    assert answer.headers["content-type"].startswith("application/json")
    assert "attachment" in answer.headers["content-disposition"]
    record = json.loads(answer.text)
    assert record["subscriber"]["email"] == MARIA
    assert {s["list"] for s in record["subscriptions"]} == {"cronache", "eventi"}


def test_erasure_needs_an_admin_and_a_confirmation_naming_the_person(desk: Desk) -> None:
    maria = _person(desk)
    with desk.client("editor") as editor:
        assert editor.http.get(f"/admin/subscribers/{maria}/erase").status_code == 403
        assert (
            editor.post(f"/admin/subscribers/{maria}/erase", {"confirm": MARIA}).status_code == 403
        )
    with desk.client("admin") as admin:
        asked = admin.http.get(f"/admin/subscribers/{maria}/erase")
        assert asked.status_code == 200 and MARIA in asked.text and "Maria Rossi" in asked.text
        wrong = admin.post(f"/admin/subscribers/{maria}/erase", {"confirm": "someone@else.it"})
        assert wrong.status_code == 400 and 'id="mismatch"' in wrong.text
        with desk.sessions() as session:
            assert session.scalar(select(Subscriber.email).where(Subscriber.id == maria)) == MARIA
        done = admin.post(f"/admin/subscribers/{maria}/erase", {"confirm": MARIA.lower()})
        assert done.status_code == 303
        assert 'id="erased"' in admin.http.get(f"/admin/subscribers/{maria}").text
    with desk.sessions() as session:
        person = session.get(Subscriber, maria)
        assert person is not None and person.erased_at is not None and MARIA not in person.email
        assert (
            session.scalar(
                select(func.count())
                .select_from(AuditEntry)
                .where(AuditEntry.action == "subscriber.erase")
            )
            == 1
        )


def test_the_navigation_shows_people_to_those_who_may_read_them(desk: Desk) -> None:
    for role, shown in (("editor", True), ("operator", True), ("admin", True), ("approver", False)):
        with desk.client(role) as user:
            home = user.http.get("/admin").text
            assert ('href="/admin/subscribers"' in home) is shown, role
            expected = 200 if shown else 403
            assert user.http.get("/admin/subscribers").status_code == expected, role


def test_bounces_and_complaints_are_on_the_person_page(desk: Desk) -> None:
    maria = _person(desk)
    with desk.sessions.begin() as session:
        session.add_all(
            [
                BounceEvent(kind="hard", subscriber_id=maria, status_code="5.1.1",
                            diagnostic="550 5.1.1 <maria> User unknown"),
                BounceEvent(kind="complaint", subscriber_id=maria, diagnostic="abuse report"),
            ]
        )  # fmt: skip
    with desk.client("operator") as operator:
        page = operator.http.get(f"/admin/subscribers/{maria}").text
    table = page.split('id="bounces"')[1].split("</table>")[0]
    assert "5.1.1" in table and "User unknown" in table and "&lt;maria&gt;" in table
    assert "segnalazione di spam" in table and "abuse report" in table


def test_a_person_who_does_not_exist_is_not_found(desk: Desk) -> None:
    with desk.client("editor") as editor:
        assert editor.http.get("/admin/subscribers/999999").status_code == 404
    result = desk.run_cli("subscribers", "unsubscribe", "nobody@example.org", "--list", "x")
    assert result.exit_code != 0


def test_an_erased_person_cannot_be_erased_again(desk: Desk) -> None:
    maria = _person(desk)
    with desk.client("admin") as admin:
        admin.post(f"/admin/subscribers/{maria}/erase", {"confirm": MARIA})
        again = admin.http.get(f"/admin/subscribers/{maria}/erase")
        assert again.status_code == 303
        page = admin.http.get(f"/admin/subscribers/{maria}").text
        assert f'action="/admin/subscribers/{maria}/lists"' not in page  # no actions left
    with desk.sessions() as session:
        erased = session.scalar(
            select(func.count())
            .select_from(AuditEntry)
            .where(AuditEntry.action == "subscriber.erase")
        )
        assert erased == 1
