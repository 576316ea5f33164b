"""The office's admin: editions, pictures, previews, proofs, approvals and schedules.

Every ``/admin`` route needs a logged-in user, and changes need a role (editors
write and send proofs, approvers approve and schedule, admins do everything); the
routers come from :func:`dispatcher.web.auth.admin_router`, which also checks the
CSRF token of every form. Pictures are served publicly from ``/images``.
"""

from __future__ import annotations

from fastapi import FastAPI

from dispatcher.web.routes.admin import (
    account,
    approvals,
    blocks,
    dryruns,
    editions,
    editor,
    home,
    images,
    imports,
    lists,
    people,
    preview,
    proofs,
    schedule,
    send_actions,
    send_progress,
    users,
)
from dispatcher.web.routes.admin.common import ROUTERS, RoleRouters, install_filters

__all__ = ["ROLE_ROUTERS", "install", "route_roles"]

#: The admin's routers with the roles their routes need (() means any logged-in user).
#: Each page module above adds its routes to them when it is imported.
PAGES = (
    home,
    editions,
    preview,
    images,
    proofs,
    approvals,
    schedule,
    blocks,
    dryruns,
    people,
    users,
    account,
    editor,
    lists,
    imports,
    send_actions,
    send_progress,
)
ROLE_ROUTERS: RoleRouters = ROUTERS


def route_roles() -> dict[tuple[str, str], tuple[str, ...]]:
    """``(method, path) -> roles`` for every admin route (the access tests use it)."""
    found: dict[tuple[str, str], tuple[str, ...]] = {}
    for roles, router in ROLE_ROUTERS:
        for route in router.routes:
            for method in getattr(route, "methods", ()):
                found[(method, getattr(route, "path", ""))] = roles
    return found


def install(app: FastAPI) -> None:
    """Add the admin's routes, its template filters, and the public pictures."""
    install_filters()
    for _, router in ROLE_ROUTERS:
        app.include_router(router)
    app.include_router(images.public)
