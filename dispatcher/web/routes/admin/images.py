"""Pictures: uploaded by editors, listed with their public address, served to everyone.

``/images/{id}/{filename}`` needs no login: mail clients fetch it. The bytes never
change for an id, so it is cached for a year; the content type is the one read
from the file's header at upload, and ``nosniff`` stops browsers guessing another.
"""

from __future__ import annotations

import functools
from typing import Annotated

from fastapi import APIRouter, File, Form, Request, UploadFile
from fastapi.responses import Response
from sqlalchemy.orm import Session

from dispatcher.errors import DispatcherError, NotFoundError
from dispatcher.office.images import (
    MAX_IMAGE_BYTES,
    ImageError,
    get_image,
    public_path,
    recent_images,
    store_image,
)
from dispatcher.web.routes.admin.common import (
    actor,
    attempt_or_show,
    editor,
    flash,
    page,
    problem,
    see_other,
    viewer,
)
from dispatcher.web.routes.admin.editions import edition_shown
from dispatcher.web.state import DbSession, FormRowId, RowId, State, WebState

#: The public route, outside the admin: no login, no CSRF (it only reads).
public = APIRouter(include_in_schema=False)

CACHE_FOREVER = "public, max-age=31536000, immutable"


@viewer.get("/images")
def images_page(request: Request, session: DbSession, state: State) -> Response:
    return _images_page(request, session, state)


@editor.post("/images")
def upload_image(
    request: Request,
    session: DbSession,
    state: State,
    file: Annotated[UploadFile | None, File()] = None,
    alt: Annotated[str, Form()] = "",
    edition_id: FormRowId = None,
) -> Response:
    back = f"/admin/editions/{edition_id}#images" if edition_id else "/admin/images"

    def action() -> Response:
        data, name = _read(file)
        image = store_image(session, data, name, alt, actor(request), edition_id)
        flash(request, "flash.image", url=state.settings.public_url + public_path(image))
        return see_other(back)

    if edition_id:
        shown = edition_shown(request, session, state, edition_id)
    else:
        shown = functools.partial(_images_page, request, session, state)
    return attempt_or_show(session, action, shown, DispatcherError)


@public.get("/images/{image_id}/{filename}")
def serve_image(request: Request, session: DbSession, image_id: RowId, filename: str) -> Response:
    image = get_image(session, image_id)
    if image.filename != filename:
        raise NotFoundError(f"image {image_id} is not called {filename!r}")
    etag = f'"{image.sha256}"'
    headers = {"Cache-Control": CACHE_FOREVER, "ETag": etag, "X-Content-Type-Options": "nosniff"}
    if request.headers.get("if-none-match") == etag:
        return Response(status_code=304, headers=headers)
    return Response(image.data, media_type=image.content_type, headers=headers)


def _read(file: UploadFile | None) -> tuple[bytes, str]:
    if file is None or not file.filename:
        raise ImageError("choose a picture to upload").coded("image.none")
    # One byte more than allowed is enough to know it is too big.
    return file.file.read(MAX_IMAGE_BYTES + 1), file.filename


def _images_page(
    request: Request, session: Session, state: WebState, error: Exception | None = None
) -> Response:
    context = {
        "images": recent_images(session),
        "public_url": state.settings.public_url,
        "problem": problem(error) if error else None,
        "max_mb": MAX_IMAGE_BYTES // (1024 * 1024),
    }
    return page(request, "images.html", context, status_code=400 if error else 200)
