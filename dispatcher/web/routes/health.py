"""``/healthz``: the app is up and its database answers (for load balancers and tests)."""

from __future__ import annotations

from fastapi import APIRouter, FastAPI

from dispatcher.db import ping
from dispatcher.web.state import DbSession

router = APIRouter()


@router.get("/healthz", include_in_schema=False)
def healthz(session: DbSession) -> dict[str, str]:
    ping(session)
    return {"status": "ok"}


def install(app: FastAPI) -> None:
    app.include_router(router)
