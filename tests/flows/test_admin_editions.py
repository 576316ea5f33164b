"""Editions in the browser: upload, errors shown at their line, edits, preview."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import select

from dispatcher.models import AuditEntry, Edition, Send
from tests.support.admin import Desk
from tests.support.data import EDITION_FILE

pytestmark = pytest.mark.usefixtures("quick_preflight", "newsletter")

SOURCE = EDITION_FILE.read_text(encoding="utf-8")
NOT_A_NUMBER = SOURCE.replace("number: 44", "number: quarantaquattro")  # line 5


def upload(desk: Desk, source: str, name: str = "cronache-44.md") -> int:
    with desk.client("editor") as editor:
        answer = editor.post("/admin/editions", files={"file": (name, source.encode())})
    assert answer.status_code == 303, answer.text
    return int(answer.headers["location"].rsplit("/", 1)[1])


def edition_state(desk: Desk, edition_id: int) -> tuple[str, str]:
    """The state badge and the approval state shown on the edition's page."""
    with desk.client("editor") as editor:
        page = editor.http.get(f"/admin/editions/{edition_id}").text
    state = re.search(r'id="edition-state" data-state="(\w+)"', page)
    approval = re.search(r'id="approval-state" data-approval="(\w+)"', page)
    assert state and approval
    return state.group(1), approval.group(1)


def test_an_uploaded_file_becomes_a_draft_edition_and_is_logged(desk: Desk) -> None:
    with desk.client("editor") as editor:
        answer = editor.post("/admin/editions", files={"file": ("cronache-44.md", SOURCE.encode())})
        assert "Edizione n. 44 caricata." in editor.http.get(answer.headers["location"]).text
        home = editor.http.get("/admin").text
    edition_id = int(answer.headers["location"].rsplit("/", 1)[1])
    assert edition_state(desk, edition_id) == ("draft", "none")
    assert f'data-edition="{edition_id}"' in home and 'data-state="draft"' in home
    with desk.sessions() as session:
        entry = session.scalars(select(AuditEntry).where(AuditEntry.action == "edition.add")).one()
        assert (entry.username, entry.target_id) == ("editor", edition_id)
        assert entry.detail["source_name"] == "cronache-44.md"


def test_a_pasted_edition_with_an_error_is_shown_again_with_its_line(desk: Desk) -> None:
    with desk.client("editor") as editor:
        answer = editor.post("/admin/editions", {"source": NOT_A_NUMBER})

    assert answer.status_code == 400
    assert "File edizione.md. Riga 5. Campo «number»." in answer.text
    assert '<mark id="error-line">   5  number: quarantaquattro</mark>' in answer.text
    assert 'data-error-line="5"' in answer.text
    assert "number: quarantaquattro" in answer.text.split('id="source"')[1]  # text kept
    with desk.sessions() as session:
        assert session.scalar(select(Edition.id)) is None


def test_an_uploaded_file_with_an_error_is_named_in_the_message(desk: Desk) -> None:
    broken = SOURCE.replace("image: https://www.citta", "image: http://www.citta", 1)
    with desk.client("editor") as editor:
        answer = editor.post("/admin/editions", files={"file": ("n44.md", broken.encode())})
        latin1 = editor.post("/admin/editions", files={"file": ("old.md", "è".encode("latin-1"))})

    assert answer.status_code == 400
    assert "File n44.md. Riga 12. Campo «cover.image»." in answer.text
    assert "deve iniziare con https://" in answer.text
    assert latin1.status_code == 400 and "Il file non è testo UTF-8" in latin1.text


def test_a_second_upload_of_the_same_number_is_refused_with_a_message(desk: Desk) -> None:
    upload(desk, SOURCE)
    with desk.client("editor") as editor:
        again = editor.post("/admin/editions", {"source": SOURCE})
    assert again.status_code == 400
    assert "ha già un&#39;edizione numero 44" in again.text


def test_editing_in_the_textarea_recompiles_and_is_logged(desk: Desk) -> None:
    edition_id = upload(desk, SOURCE)
    changed = SOURCE.replace("verso il Piano", "verso il nuovo Piano", 1)

    with desk.client("editor") as editor:
        form = editor.http.get(f"/admin/editions/{edition_id}/source").text
        assert "number: 44" in form
        saved = editor.post(f"/admin/editions/{edition_id}/source", {"source": changed})
        broken = editor.post(f"/admin/editions/{edition_id}/source", {"source": NOT_A_NUMBER})

    assert saved.status_code == 303
    assert broken.status_code == 400 and "Riga 5. Campo «number»." in broken.text
    with desk.sessions() as session:
        edition = session.get_one(Edition, edition_id)
        assert "verso il nuovo Piano" in edition.subject  # the broken one changed nothing
        actions = session.scalars(select(AuditEntry.action).order_by(AuditEntry.id)).all()
    assert actions.count("edition.update") == 1


def test_an_edit_after_approval_revokes_it(desk: Desk) -> None:
    edition_id = upload(desk, SOURCE)
    with desk.client("approver") as approver:
        page = approver.http.get(f"/admin/editions/{edition_id}").text
        content_hash = re.search(r'name="hash" value="(\w+)"', page).group(1)  # type: ignore[union-attr]
        assert approver.post(f"/admin/editions/{edition_id}/approve", {"hash": content_hash})
    assert edition_state(desk, edition_id) == ("approved", "current")

    changed = SOURCE.replace("Natale a Stupinigi.", "Natale alla Palazzina di Stupinigi.", 1)
    with desk.client("editor") as editor:
        saved = editor.post(f"/admin/editions/{edition_id}/source", {"source": changed})
        page = editor.http.get(saved.headers["location"]).text

    assert "va approvata di nuovo" in page
    assert edition_state(desk, edition_id) == ("draft", "outdated")


def test_an_edition_with_a_scheduled_send_cannot_be_edited(desk: Desk) -> None:
    edition_id = upload(desk, SOURCE)
    with desk.client("approver") as approver:
        page = approver.http.get(f"/admin/editions/{edition_id}").text
        content_hash = re.search(r'name="hash" value="(\w+)"', page).group(1)  # type: ignore[union-attr]
        approver.post(f"/admin/editions/{edition_id}/approve", {"hash": content_hash})
        approver.post(
            f"/admin/editions/{edition_id}/sends", {"lists": "cronache", "at": "2099-01-08 10:00"}
        )
    changed = SOURCE.replace("verso il Piano", "verso il nuovo Piano", 1)

    with desk.client("editor") as editor:
        refused = editor.post(f"/admin/editions/{edition_id}/source", {"source": changed})

    assert refused.status_code == 400
    assert "annulla la programmazione" in refused.text
    with desk.sessions() as session:
        assert session.scalar(select(Send.state)) == "scheduled"
        assert "nuovo" not in session.get_one(Edition, edition_id).subject


def test_the_preview_shows_phone_and_desktop_widths_and_the_text_part(desk: Desk) -> None:
    edition_id = upload(desk, SOURCE)
    with desk.client("operator") as reader:
        page = reader.http.get(f"/admin/editions/{edition_id}/preview").text
        frame = reader.http.get(f"/admin/editions/{edition_id}/preview/html")

    assert 'id="preview-phone"' in page and 'width="375"' in page
    assert 'id="preview-desktop"' in page and 'width="640"' in page
    assert "IL PANETTONE DEI FUTURI CHEF" in page.split('id="text-part"')[1]  # the text part
    assert frame.status_code == 200
    assert "script-src" not in frame.headers["content-security-policy"]  # so none may run
    assert "default-src 'none'" in frame.headers["content-security-policy"]
    assert "Palazzo Cisterna" in frame.text
    assert "ZqSLOT" not in frame.text  # the sample recipient's values are filled in
