"""Lists in the admin: counts and growth, a new list, settings that say what they undo; by role.

Against the run's PostgreSQL through the desk (the admin app with a user of every role).
"""

from __future__ import annotations

import datetime as dt
import html
import re
from collections.abc import Callable
from dataclasses import asdict

import pytest
from sqlalchemy import select, update
from sqlalchemy.orm import Session

from dispatcher.editions.newsletter import Colours
from dispatcher.models import AuditEntry, Edition
from dispatcher.office import approvals
from dispatcher.office.approvals import ApprovalState
from dispatcher.office.list_settings import form_defaults
from dispatcher.office.scheduling import schedule_send
from dispatcher.sends.runtime import Runtime
from dispatcher.transport.memory import MemoryTransport
from subscribers.models import MailingList, Subscription
from subscribers.orm import utcnow
from subscribers.service import get_list, newsletter_lists
from tests.support.admin import Desk, LoggedIn
from tests.support.data import add_readers_and_edition, add_subscribers, create_newsletter
from tests.support.sending import send_everything


def _form(desk: Desk, slug: str = "cronache", **changes: str) -> dict[str, str]:
    """The settings form as the page fills it for ``slug``, with ``changes``."""
    with desk.sessions() as session:
        values = form_defaults(get_list(session, slug))
    return {**values, **changes}


def _settings(desk: Desk, slug: str = "cronache") -> dict[str, object]:
    with desk.sessions() as session:
        return dict(get_list(session, slug).settings)


def _confirm_and_save(admin: LoggedIn, page: str, slug: str = "cronache") -> int:
    """Press the confirmation page's save button as ``admin``; the answer's status."""
    found = {
        name: value
        for name, value in re.findall(r'name="(settings_json|version)" value="([^"]*)"', page)
    }
    assert set(found) == {"settings_json", "version"}, page[:2000]
    data = {k: html.unescape(v) for k, v in found.items()}
    return admin.post(f"/admin/lists/{slug}/settings/save", data).status_code


def test_the_lists_page_counts_each_status_and_the_last_weeks(desk: Desk) -> None:
    now = utcnow()
    with desk.sessions.begin() as session:
        list_id = create_newsletter(session).id
        create_newsletter(session, "eventi")
        joined = add_subscribers(session, list_id, 5)
        add_subscribers(session, list_id, 2, start=10, status="pending")
        add_subscribers(session, list_id, 1, start=20, status="bounced")
        old = add_subscribers(session, list_id, 1, start=30, status="unsubscribed")
        for subscriber in joined:
            _set(session, subscriber, confirmed_at=now - dt.timedelta(days=1))
        _set(session, old[0], confirmed_at=now - dt.timedelta(days=400), unsubscribed_at=now)
    with desk.client("editor") as editor:
        page = editor.http.get("/admin/lists", params={"lang": "it"})
    assert page.status_code == 200
    row = page.text.split('data-list="cronache"')[1].split("</tr>")[0]
    cells = re.findall(r"<td>([^<]*)</td>", row)
    assert cells == ["5", "2", "1", "1", "+5 / −1"]
    empty = page.text.split('data-list="eventi"')[1].split("</tr>")[0]
    assert re.findall(r"<td>([^<]*)</td>", empty) == ["0", "0", "0", "0", "+0 / −0"]
    assert 'action="/admin/lists"' not in page.text  # an editor does not create lists


def test_counts_are_written_the_italian_way(desk: Desk) -> None:
    with desk.sessions.begin() as session:
        add_subscribers(session, create_newsletter(session).id, 2027)
    with desk.client("approver") as approver:
        italian = approver.http.get("/admin/lists", params={"lang": "it"}).text
        english = approver.http.get("/admin/lists", params={"lang": "en"}).text
    assert "<td>2.027</td>" in italian
    assert "<td>2,027</td>" in english


def test_an_admin_creates_a_list_and_gives_it_newsletter_settings(desk: Desk) -> None:
    with desk.client("admin") as admin:
        created = admin.post("/admin/lists", {"slug": "eventi", "name": "Eventi in città"})
        assert created.status_code == 303
        assert created.headers["location"] == "/admin/lists/eventi/settings"
        form = admin.http.get("/admin/lists/eventi/settings", params={"lang": "it"})
        assert form.status_code == 200 and 'value="Eventi in città"' in form.text
    assert not [m for m in _lists(desk) if m.slug == "eventi" and m.settings]
    values = {
        "name": "Eventi in città",
        "from_name": "Eventi",
        "from_address": "eventi@cittametropolitana.torino.it",
        "list_id": "eventi.cittametropolitana.torino.it",
        "masthead_title": "Eventi",
        "masthead_subtitle": "Cosa succede in città",
        "language": "it",
        "legal_footer": "Editore: Città metropolitana di Torino\r\n\r\nSeconda riga",
        **{f"colours.{k}": v for k, v in _default_colours().items()},
    }
    with desk.client("admin") as admin:
        confirm = admin.post("/admin/lists/eventi/settings", values)
        assert confirm.status_code == 200, confirm.text[:3000]
        assert "Nessuna edizione approvata dovrà essere approvata di nuovo" in confirm.text
        assert not _settings(desk, "eventi")  # nothing saved before the confirmation
        assert _confirm_and_save(admin, confirm.text, "eventi") == 303
    saved = _settings(desk, "eventi")
    assert saved["from_address"] == "eventi@cittametropolitana.torino.it"
    assert saved["legal_footer"] == ["Editore: Città metropolitana di Torino", "Seconda riga"]
    assert saved.get("reply_to") is None and saved.get("logo") is None
    assert "eventi" in {m.slug for m in _lists(desk) if m.settings}
    with desk.sessions() as session:
        actions = set(session.scalars(select(AuditEntry.action)))
        assert {"list.create", "list.settings"} <= actions
        assert newsletter_lists(session)


@pytest.mark.usefixtures("quick_preflight")
def test_the_confirmation_names_the_approved_editions_a_change_sends_back(
    desk: Desk, edition_id: int
) -> None:
    desk.approve(edition_id)
    with desk.client("admin") as admin:
        same = admin.post("/admin/lists/cronache/settings", _form(desk))
        assert "uguali a quelle salvate" in same.text
        changed = admin.post(
            "/admin/lists/cronache/settings", _form(desk, from_name="Ufficio stampa")
        )
        assert changed.status_code == 200
        impact = changed.text.split('id="impact"')[1].split("</div>")[0]
        assert "farà tornare da approvare 1 edizione già approvata" in impact
        assert f'href="/admin/editions/{edition_id}"' in impact
        assert _approval(desk, edition_id) is ApprovalState.CURRENT  # still, until saved
        assert _confirm_and_save(admin, changed.text) == 303
        assert _settings(desk)["from_name"] == "Ufficio stampa"
        assert _approval(desk, edition_id) is ApprovalState.OUTDATED
        shown = admin.http.get("/admin/lists/cronache", params={"lang": "it"}).text
    assert "edizioni da approvare di nuovo: 1" in shown


@pytest.mark.usefixtures("quick_preflight")
def test_a_change_made_meanwhile_is_not_overwritten(desk: Desk, edition_id: int) -> None:
    with desk.client("admin") as admin:
        confirm = admin.post("/admin/lists/cronache/settings", _form(desk, from_name="Primo"))
        other = admin.post("/admin/lists/cronache/settings", _form(desk, from_name="Secondo"))
        assert _confirm_and_save(admin, other.text) == 303
        assert _confirm_and_save(admin, confirm.text) == 400  # shown before "Secondo" was saved
    assert _settings(desk)["from_name"] == "Secondo"


@pytest.mark.parametrize(
    ("field", "value", "words"),
    [
        ("colours.text", "#777777", "contrast of 4.48:1"),
        ("colours.on_primary", "#2a5a8a", "contrast"),
        ("from_address", "stampa@", "no valid domain"),
        ("list_id", "<cronache>", "not a List-Id"),
        ("masthead_title", "", "is missing"),
        ("logo.width", "9000", "from 16 to 600"),
        ("logo.url", "http://example.org/logo.png", "https"),
        ("language", "italiano!", "language code"),
    ],
)
def test_wrong_settings_are_refused_next_to_their_field(
    desk: Desk, newsletter: int, field: str, value: str, words: str
) -> None:
    before = _settings(desk)
    with desk.client("admin") as admin:
        answer = admin.post("/admin/lists/cronache/settings", _form(desk, **{field: value}))
    assert answer.status_code == 400
    field_id = "f-" + field.replace(".", "-")
    assert re.search(rf'id="{field_id}"[^>]*aria-invalid="true"', answer.text.replace("\n", " "))
    assert words in answer.text.split(f'id="{field_id}-error"')[1].split("</p>")[0]
    assert _settings(desk) == before


def test_bad_input_is_refused_without_a_change(desk: Desk, newsletter: int) -> None:
    before = _settings(desk)
    with desk.client("admin") as admin:
        for slug in ("Eventi Speciali", "cronache", "", "x" * 65):
            answer = admin.post("/admin/lists", {"slug": slug, "name": "Eventi"})
            assert answer.status_code in (400, 422), slug
        assert admin.post("/admin/lists", {"slug": "eventi", "name": " "}).status_code == 400
        too_long = _form(desk, masthead_subtitle="x" * 5000)
        assert admin.post("/admin/lists/cronache/settings", too_long).status_code == 400
        forged = '{"slug": "altro", "name": "x"}'
        answer = admin.post(
            "/admin/lists/cronache/settings/save", {"settings_json": forged, "version": "x"}
        )
        assert answer.status_code == 400
        garbage = {"settings_json": "{not json", "version": "x"}
        assert admin.post("/admin/lists/cronache/settings/save", garbage).status_code == 400
        assert admin.http.get("/admin/lists/nessuna/settings").status_code in (400, 404)
    assert _settings(desk) == before
    assert [m.slug for m in _lists(desk)] == ["cronache"]


def test_everyone_reads_lists_and_only_an_admin_changes_them(desk: Desk, newsletter: int) -> None:
    for role in ("editor", "approver", "operator"):
        with desk.client(role) as user:
            assert user.http.get("/admin/lists").status_code == 200
            form = user.http.get("/admin/lists/cronache/settings", params={"lang": "it"})
            assert form.status_code == 200
            assert "Solo un amministratore può cambiare" in form.text
            assert "Controlla e continua" not in form.text
            assert user.post("/admin/lists", {"slug": "x", "name": "X"}).status_code == 403
            refused = user.post("/admin/lists/cronache/settings", _form(desk, from_name="Io"))
            assert refused.status_code == 403
            assert 'href="/admin/import"' not in user.http.get("/admin").text
    assert _settings(desk)["from_name"] == "Cronache da Palazzo Cisterna"


def test_an_editions_figures_after_a_real_send_name_nobody(
    desk: Desk, make_runtime: Callable[..., Runtime], memory: MemoryTransport
) -> None:
    runtime = make_runtime()
    with runtime.sessions.begin() as session:
        edition_id = add_readers_and_edition(session, runtime.settings, 4)
    assert len(send_everything(runtime, memory, edition_id)) == 4
    with desk.sessions.begin() as session:
        list_id = session.scalars(select(MailingList.id)).one()
        person = session.scalars(select(Subscription).where(Subscription.list_id == list_id))
        leaving = person.first()
        assert leaving is not None
        leaving.status, leaving.unsubscribed_at = "unsubscribed", utcnow()
    with desk.client("editor") as editor:
        edition = editor.http.get(f"/admin/editions/{edition_id}", params={"lang": "it"}).text
        home = editor.http.get("/admin", params={"lang": "it"}).text
        listed = editor.http.get("/admin/lists/cronache", params={"lang": "it"}).text
    figures = html.unescape(edition.split('id="edition-figures"')[1].split("</section>")[0])
    table = dict(re.findall(r'<th scope="row">([^<]+)</th><td>([^<]+)</td>', figures))
    assert table["Destinatari"] == "4" and table["Consegnati"] == "4"
    assert table["Non consegnati"] == "0" and table["Disiscrizioni dopo l'invio"] == "1"
    assert "<svg" in figures and "<title" in figures and "<desc" in figures
    assert "@" not in figures  # aggregate only
    assert f'href="/admin/editions/{edition_id}">n. ' in home.split('id="editions-figures"')[1]
    assert 'id="growth-chart"' in listed
    assert "3 confermati, 0 in attesa, 1 disiscritti" in listed


def _lists(desk: Desk) -> list[MailingList]:
    with desk.sessions() as session:
        return list(session.scalars(select(MailingList).order_by(MailingList.slug)))


def _approval(desk: Desk, edition_id: int) -> ApprovalState:
    with desk.sessions() as session:
        return approvals.approval_of(session, session.get_one(Edition, edition_id)).state


def _set(session: Session, subscriber: int, **values: object) -> None:
    session.execute(
        update(Subscription).where(Subscription.subscriber_id == subscriber).values(**values)
    )


def _default_colours() -> dict[str, str]:
    return asdict(Colours())


@pytest.mark.usefixtures("quick_preflight")
def test_the_confirmation_says_a_scheduled_send_will_wait(desk: Desk, edition_id: int) -> None:
    desk.approve(edition_id)
    with desk.sessions.begin() as session:
        later = utcnow() + dt.timedelta(days=3)
        schedule_send(
            session, edition_id, ["cronache"], later,
            actor="approver", settings=desk.settings, now=utcnow(),
        )  # fmt: skip
    with desk.client("admin") as admin:
        page = admin.post("/admin/lists/cronache/settings", _form(desk, masthead_title="Nuova"))
    impact = page.text.split('id="impact"')[1].split("</div>")[0]
    assert "Ha un invio in programma o in corso" in impact
    assert "(Programmata)" in impact


def test_a_new_list_without_settings_has_its_pages(desk: Desk) -> None:
    with desk.client("admin") as admin:
        assert admin.post("/admin/lists", {"slug": "avvisi", "name": "Avvisi"}).status_code == 303
        for path in ("/admin/lists", "/admin/lists/avvisi", "/admin/lists/avvisi/settings"):
            assert admin.http.get(path).status_code == 200, path
        assert "senza impostazioni" in admin.http.get("/admin/lists?lang=it").text
