"""Nobody gets into the office's admin without logging in, the right role and the CSRF token.

The routes are read from the app itself, so a route added later is checked too:
every path under /admin, /console and /api/admin must refuse an anonymous
visitor, and every unsafe one must refuse a request without the CSRF token.
"""

from __future__ import annotations

import re
from pathlib import Path

from fastapi import FastAPI
from fastapi.routing import iter_route_contexts

from dispatcher.models import SendState
from dispatcher.office import imports
from dispatcher.office.approvals import EditionState
from dispatcher.office.images import store_image
from dispatcher.sends import dryrun, ledger
from dispatcher.web.i18n import CATALOGUE
from dispatcher.web.routes.admin import common, route_roles
from dispatcher.web.templating import WEB_TEMPLATES
from subscribers.orm import utcnow
from subscribers.service import get_list
from tests.support.admin import ROLES, Desk
from tests.support.data import add_example_edition, add_subscribers, create_newsletter

PROTECTED = ("/admin", "/console", "/api/admin")
UNSAFE = {"POST", "PUT", "PATCH", "DELETE"}
PNG = bytes.fromhex("89504e470d0a1a0a0000000d4948445200000001000000010806000000")


def protected_routes(app: FastAPI) -> list[tuple[str, str]]:
    """(method, path) of every route that must need a login.

    FastAPI keeps included routers as branches of ``app.routes``;
    ``iter_route_contexts`` walks them down to the routes.
    """
    found = []
    for route in iter_route_contexts(app.routes):
        path = getattr(route, "path", "")
        if path.startswith(PROTECTED):
            for method in sorted(getattr(route, "methods", None) or ()):
                if method != "HEAD":
                    found.append((method, path))
    return found


def fill(path: str, values: dict[str, object] | None = None) -> str:
    """The path with its parameters filled (with 1 unless ``values`` names them)."""
    given = values or {}
    return re.sub(r"\{(\w+)(?::\w+)?\}", lambda m: str(given.get(m.group(1), 1)), path)


def test_the_admin_has_routes_and_every_one_is_in_the_role_table(desk: Desk) -> None:
    routes = protected_routes(desk.app)
    admin = {r for r in routes if r[1].startswith("/admin")}
    assert len(admin) >= 15
    assert admin <= set(route_roles())


def test_every_protected_route_refuses_anonymous_visitors(desk: Desk) -> None:
    with desk.client() as anonymous:
        for method, path in protected_routes(desk.app):
            answer = anonymous.http.request(method, fill(path))
            if answer.status_code == 303:
                assert answer.headers["location"].startswith("/login"), (method, path)
            else:
                assert answer.status_code == 401, (method, path, answer.status_code)


def test_routes_needing_a_role_refuse_users_without_it(desk: Desk) -> None:
    needing = {key: roles for key, roles in route_roles().items() if roles}
    assert needing, "some admin routes need a role"
    for role in ROLES:
        if role == "admin":
            continue
        with desk.client(role) as user:
            for (method, path), roles in needing.items():
                if role in roles:
                    continue
                answer = user.http.request(method, fill(path), data={"csrf_token": user.token})
                assert answer.status_code == 403, (role, method, path, answer.status_code)


def test_unsafe_routes_refuse_requests_without_the_csrf_token(desk: Desk) -> None:
    with desk.client("admin") as admin:
        for method, path in protected_routes(desk.app):
            if method not in UNSAFE:
                continue
            missing = admin.http.request(method, fill(path), data={"alt": "x"})
            assert missing.status_code == 403, (method, path, missing.status_code)
            wrong = admin.http.request(method, fill(path), data={"csrf_token": "forged"})
            assert wrong.status_code == 403, (method, path, wrong.status_code)


def test_every_admin_page_renders_for_an_admin_with_real_data(desk: Desk) -> None:
    values = _some_of_everything(desk)
    with desk.client("admin") as admin:
        for language in ("it", "en"):
            for method, path in route_roles():
                if method == "GET":
                    answer = admin.http.get(fill(path, values), params={"lang": language})
                    assert answer.status_code == 200, (path, answer.text[:500])


def test_every_text_the_admin_names_exists_in_italian_and_english() -> None:
    named = set()
    for template in (WEB_TEMPLATES / "admin").glob("*.html"):
        named |= set(re.findall(r"""\bt\(["']([\w.]+)["']""", template.read_text()))
    named |= {key for _, key in common._EXPLAINED} | {"problem.other"}
    named = {key for key in named if not key.endswith(".")}  # t("state." ~ state): below
    named |= {f"state.{s}" for s in EditionState} | {f"send.{s}" for s in SendState}
    named |= {f"weekday.{day}" for day in range(7)} | {"preview.phone", "preview.desktop"}
    assert len(named) > 100
    for language in ("it", "en"):
        missing = sorted(key for key in named if key not in CATALOGUE[language])
        assert not missing, (language, missing)


def test_reading_needs_only_a_login_but_changing_needs_a_role(desk: Desk) -> None:
    edition_id = _some_of_everything(desk)["edition_id"]
    with desk.client("operator") as operator:
        page = operator.http.get(f"/admin/editions/{edition_id}")
        assert page.status_code == 200
        assert f'action="/admin/editions/{edition_id}/approve"' not in page.text  # no button
        refused = operator.post(f"/admin/editions/{edition_id}/approve", {"hash": "x"})
        assert refused.status_code == 403


def test_logging_out_ends_the_session(desk: Desk) -> None:
    with desk.client("editor") as editor:
        home = editor.http.get("/admin")
        assert 'action="/logout"' in home.text
        assert editor.post("/logout").status_code == 303
        assert editor.http.get("/admin").headers["location"].startswith("/login")


def _some_of_everything(desk: Desk) -> dict[str, object]:
    """A newsletter, an edition, a send and a picture, for pages that need ids."""
    with desk.sessions.begin() as session:
        create_newsletter(session)
        edition_id = add_example_edition(session, desk.settings)
        send = ledger.create_send(session, edition_id, ["cronache"], utcnow())
        person = add_subscribers(session, get_list(session, "cronache").id, 1)[0]
        image = store_image(session, PNG, "logo.png", "Il logo", "editor", edition_id)
        data = b"email;nome\nanna@example.org;Anna\n"
        job = imports.upload(session, "cronache", "soci.csv", data, False, "admin")
        folder = Path(desk.settings.dry_run_dir) / "access"
        dry_run, _ = dryrun.start_dry_run(
            session, edition_id, ["cronache"], folder, now=utcnow(), batch_size=10
        )
        return {
            "dry_run_id": dry_run.id,
            "edition_id": edition_id,
            "send_id": send.id,
            "slug": "cronache",
            "subscriber_id": person,
            "list_id": get_list(session, "cronache").id,
            "image_id": image.id,
            "filename": image.filename,
            "job_id": job.id,
        }
