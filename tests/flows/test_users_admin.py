"""Users in the admin: who may manage them, what is refused, passwords, the second factor.

Through the real app and PostgreSQL: the pages a person would see, the audit log's
rows, and whether a login still opens the admin afterwards.
"""

from __future__ import annotations

import datetime as dt
import re

import pyotp
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from dispatcher.config import Settings, WebSettings
from dispatcher.models import AuditEntry, User
from dispatcher.office import totp
from dispatcher.office.users import find_user
from dispatcher.transport.memory import MemoryTransport
from tests.support.admin import PASSWORD, Desk, LoggedIn, csrf_of, make_desk

NEW_PASSWORD = "una frase lunga per entrare"
_SECRET = re.compile(r'id="totp-secret">([A-Z2-7 ]+)<')
_ONE_TIME = re.compile(r'id="one-time-password">([a-z0-9-]+)<')


def _user(desk: Desk, name: str) -> User:
    with desk.sessions() as session:
        user = find_user(session, name)
        assert user is not None
        return user


def _actions(desk: Desk, name: str) -> list[str]:
    with desk.sessions() as session:
        query = select(AuditEntry.action).where(AuditEntry.detail["account"].as_string() == name)
        return list(session.scalars(query.order_by(AuditEntry.id)))


def _log_in(http: TestClient, name: str, password: str) -> str:
    """Post the login form; returns where it leads."""
    token = csrf_of(http.get("/login").text)
    form = {"csrf_token": token, "username": name, "password": password, "next": "/admin"}
    answer = http.post("/login", data=form)
    assert answer.status_code == 303, answer.text[:300]
    return answer.headers["location"]


def _send_code(http: TestClient, code: str) -> int:
    token = csrf_of(http.get("/login/code").text)
    answer = http.post("/login/code", data={"csrf_token": token, "code": code})
    return answer.status_code


@pytest.mark.parametrize("role", ["editor", "approver", "operator"])
def test_only_admins_reach_the_users_page(desk: Desk, role: str) -> None:
    with desk.client(role) as user:
        assert user.http.get("/admin/users").status_code == 403
        assert user.post("/admin/users", {"username": "x1", "role": "admin"}).status_code == 403
    with desk.client("admin") as admin:
        assert "editor" in admin.http.get("/admin/users").text


def test_bad_names_roles_and_duplicates_are_refused_in_words(desk: Desk) -> None:
    with desk.client("admin") as admin:
        for name, role, words in (
            ("<script>", "editor", "non è valido"),
            ("editor", "editor", "Esiste già"),
            ("nuovo", "superuser", "ruolo scelto non esiste"),
            ("", "editor", "non è valido"),
        ):
            answer = admin.post("/admin/users?lang=it", {"username": name, "role": role})
            assert answer.status_code == 400, (name, role)
            assert words in answer.text, (name, role)
            assert "&lt;script&gt;" in answer.text or name != "<script>"
    with desk.sessions() as session:
        assert session.scalar(select(User).where(User.username == "nuovo")) is None


def test_the_last_admin_cannot_be_disabled_or_demoted(desk: Desk) -> None:
    admin_id = _user(desk, "admin").id
    with desk.client("admin") as admin:
        for path, data in (("disable", {}), ("role", {"role": "editor"})):
            answer = admin.post(f"/admin/users/{admin_id}/{path}?lang=it", data)
            assert answer.status_code == 400
            assert "ultimo amministratore" in answer.text
        assert admin.http.get("/admin").status_code == 200  # still logged in, still admin
    assert _user(desk, "admin").role == "admin"


def test_a_reset_password_is_shown_once_and_must_be_replaced(desk: Desk) -> None:
    editor_id = _user(desk, "editor").id
    with desk.client("editor") as editor, desk.client("admin") as admin:
        answer = admin.post(f"/admin/users/{editor_id}/password")
        assert answer.headers["cache-control"] == "no-store"
        found = _ONE_TIME.search(answer.text)
        assert found
        one_time = found.group(1)
        # The editor's open session ended with the reset.
        assert editor.http.get("/admin").headers["location"].startswith("/login")
        assert _log_in(editor.http, "editor", one_time) == "/admin"
        # Until they choose a password, every page leads to the account page.
        for path in ("/admin", "/admin/images", "/admin/editions/new"):
            assert editor.http.get(path).headers["location"] == "/admin/account"
        page = editor.http.get("/admin/account?lang=it")
        assert "password monouso" in page.text
        token = csrf_of(page.text)
        form = {"current": one_time, "new": NEW_PASSWORD, "repeat": NEW_PASSWORD}
        form["csrf_token"] = token
        assert editor.http.post("/admin/account/password", data=form).status_code == 303
        assert editor.http.get("/admin").status_code == 200
    assert _actions(desk, "editor") == ["user.password_reset", "user.password"]


def test_changing_ones_password_needs_the_old_one_and_ends_the_other_sessions(
    desk: Desk,
) -> None:
    with desk.client("operator") as here, desk.client("operator") as elsewhere:
        refusals = (
            ("wrong password!!", NEW_PASSWORD, NEW_PASSWORD, "attuale non è corretta"),
            (PASSWORD, "short", "short", "troppo corta"),
            (PASSWORD, NEW_PASSWORD, NEW_PASSWORD + "x", "non coincidono"),
            (PASSWORD, PASSWORD, PASSWORD, "diversa"),
        )
        for current, new, repeat, words in refusals:
            form = {"current": current, "new": new, "repeat": repeat}
            answer = here.post("/admin/account/password?lang=it", form)
            assert answer.status_code == 400 and words in answer.text, words
        form = {"current": PASSWORD, "new": NEW_PASSWORD, "repeat": NEW_PASSWORD}
        assert here.post("/admin/account/password", form).status_code == 303
        assert here.http.get("/admin/account").status_code == 200  # this browser goes on
        assert elsewhere.http.get("/admin").headers["location"].startswith("/login")
    assert _actions(desk, "operator") == ["user.password"]


def _enrol(client: LoggedIn) -> tuple[pyotp.TOTP, str]:
    """Enrol through the page with a code computed from the secret shown: (secret, code)."""
    page = client.http.get("/admin/account/totp")
    assert page.status_code == 200 and "<svg" in page.text
    assert page.headers["cache-control"] == "no-store"
    found = _SECRET.search(page.text)
    assert found
    secret = pyotp.TOTP(found.group(1).replace(" ", ""))
    token = csrf_of(page.text)
    wrong = client.http.post("/admin/account/totp", data={"csrf_token": token, "code": "000000"})
    assert wrong.status_code == 400 or secret.now() == "000000"
    code = secret.now()
    answer = client.http.post("/admin/account/totp", data={"csrf_token": token, "code": code})
    assert answer.status_code == 303
    return secret, code


def test_an_approver_enrols_and_then_logs_in_with_a_code_used_only_once(desk: Desk) -> None:
    with desk.client("approver") as approver:
        secret, used = _enrol(approver)
    with desk.client() as browser:
        assert _log_in(browser.http, "approver", PASSWORD) == "/login/code"
        assert browser.http.get("/admin").headers["location"].startswith("/login")
        assert _send_code(browser.http, "123") == 401
        # The code just used to enrol is refused: it was used.
        assert _send_code(browser.http, used) == 401
        later = secret.at(dt.datetime.now(dt.UTC) + dt.timedelta(seconds=30))
        assert _send_code(browser.http, later) == 303
        assert browser.http.get("/admin").status_code == 200
    with desk.client() as thief:
        assert _log_in(thief.http, "approver", PASSWORD) == "/login/code"
        assert _send_code(thief.http, later) == 401  # seen over the shoulder: used already
    actions = _actions(desk, "approver")
    assert actions == ["user.totp_enrol"]


def test_editors_and_operators_cannot_enrol(desk: Desk) -> None:
    for role in ("editor", "operator"):
        with desk.client(role) as user:
            assert user.http.get("/admin/account/totp").status_code == 403
            assert "account/totp" not in user.http.get("/admin/account").text


def test_five_wrong_codes_send_the_person_back_to_the_password(desk: Desk) -> None:
    with desk.client("approver") as approver:
        _enrol(approver)
    with desk.client() as guesser:
        _log_in(guesser.http, "approver", PASSWORD)
        for _ in range(4):
            assert _send_code(guesser.http, "111111") == 401
        token = csrf_of(guesser.http.get("/login/code").text)
        last = guesser.http.post("/login/code", data={"csrf_token": token, "code": "222222"})
        assert last.headers["location"] == "/login"
        assert guesser.http.get("/login/code").headers["location"] == "/login"


def test_an_admin_resets_a_lost_second_factor_from_the_page_and_the_cli(desk: Desk) -> None:
    approver_id = _user(desk, "approver").id
    with desk.client("approver") as approver:
        _enrol(approver)
    with desk.client("admin") as admin:
        page = admin.http.get(f"/admin/users/{approver_id}")
        assert f"/admin/users/{approver_id}/totp/reset" in page.text
        assert admin.post(f"/admin/users/{approver_id}/totp/reset").status_code == 303
    with desk.client() as browser:
        assert _log_in(browser.http, "approver", PASSWORD) == "/admin"
    result = desk.run_cli("users", "totp-reset", "approver")
    assert "had no second factor" in result.output
    assert not totp.is_enrolled(_user(desk, "approver"))
    assert _actions(desk, "approver")[-2:] == ["user.totp_reset", "user.totp_reset"]


def test_with_the_setting_on_an_admin_without_totp_must_enrol_first(
    desk_settings: Settings, pg_sessions: sessionmaker[Session], memory: MemoryTransport
) -> None:
    settings = desk_settings.with_overrides(web=WebSettings(require_totp_for="approver,admin"))
    desk = make_desk(settings, pg_sessions, memory)
    with desk.client() as browser:
        assert _log_in(browser.http, "admin", PASSWORD) == "/admin"
        for path in ("/admin", "/admin/users", "/admin/account"):
            answer = browser.http.get(path)
            expected = 200 if path == "/admin/account" else 303
            assert answer.status_code == expected, path
            if expected == 303:
                assert answer.headers["location"] == "/admin/account/totp"
        assert browser.http.get("/api/admin/sends").status_code in {403, 404}
        client = LoggedIn(browser.http, csrf_of(browser.http.get("/admin/account").text))
        _enrol(client)
        assert browser.http.get("/admin/users").status_code == 200
    with desk.client("editor") as editor:  # not required for editors
        assert editor.http.get("/admin").status_code == 200


def test_a_code_counts_one_step_either_side_and_never_twice(desk: Desk) -> None:
    start = dt.datetime(2026, 12, 7, 9, 0, 15, tzinfo=dt.UTC)
    with desk.sessions.begin() as session:
        user = find_user(session, "admin")
        assert user is not None
        secret = pyotp.TOTP(totp.pending_secret(user))
        user.totp_enabled_at = start

        def step(n: int) -> str:
            return secret.at(start + dt.timedelta(seconds=30 * n))

        assert not totp.check_code(session, user, step(-2), start)
        assert not totp.check_code(session, user, step(2), start)
        assert totp.check_code(session, user, step(-1), start)
        assert totp.check_code(session, user, step(1), start)
        assert not totp.check_code(session, user, step(0), start)  # before the last one used
        assert not totp.check_code(session, user, step(1), start)  # used
        assert not totp.check_code(session, user, "12345x", start)


def test_an_admin_ends_sessions_disables_and_enables_with_each_step_audited(desk: Desk) -> None:
    editor_id = _user(desk, "editor").id
    with desk.client("editor") as editor, desk.client("admin") as admin:
        page = admin.http.get(f"/admin/users/{editor_id}?lang=it")
        assert "Sessioni aperte</dt><dd>1</dd>" in page.text
        assert admin.post(f"/admin/users/{editor_id}/sessions/end").status_code == 303
        assert "Sessioni chiuse: 1." in admin.http.get(f"/admin/users/{editor_id}?lang=it").text
        assert editor.http.get("/admin").headers["location"].startswith("/login")
        assert admin.post(f"/admin/users/{editor_id}/disable").status_code == 303
        token = csrf_of(editor.http.get("/login").text)
        form = {"csrf_token": token, "username": "editor", "password": PASSWORD}
        assert editor.http.post("/login", data=form).status_code == 401
        assert admin.post(f"/admin/users/{editor_id}/enable").status_code == 303
        assert _log_in(editor.http, "editor", PASSWORD) == "/admin"
        assert admin.post("/admin/users/999999/disable").status_code == 404
    expected = ["user.sessions_end", "user.disable", "user.enable"]
    assert _actions(desk, "editor") == expected
    result = desk.run_cli("users", "totp-reset", "nessuno")
    assert result.exit_code != 0 and "nessuno" in result.output
