"""Pictures: uploaded by editors, found and listed with their public address, served to everyone.

The media library (``/admin/images``) searches names and alt texts page by page, shows
each picture's address as text with a copy button (static JS; without it the text
is there to select), and lets editors delete a picture nothing uses.

``/images/{id}/{filename}`` needs no login: mail clients fetch it. The bytes never
change for an id, so it is cached for a year; the content type is the one read
from the file's header at upload, and ``nosniff`` stops browsers guessing another.
"""

from __future__ import annotations

import functools
from typing import Annotated

from fastapi import APIRouter, File, Form, Query, Request, UploadFile
from fastapi.responses import Response
from sqlalchemy.orm import Session

from dispatcher.errors import DispatcherError, NotFoundError
from dispatcher.office import media
from dispatcher.office.images import (
    MAX_IMAGE_BYTES,
    ImageError,
    get_image,
    public_path,
    store_image,
)
from dispatcher.web.i18n import choose_language
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

SearchText = Annotated[str, Query(max_length=media.MAX_QUERY)]
PageNumber = Annotated[int, Query(ge=1, le=1_000_000)]

#: The public route, outside the admin: no login, no CSRF (it only reads).
public = APIRouter(include_in_schema=False)

CACHE_FOREVER = "public, max-age=31536000, immutable"


@viewer.get("/images")
def images_page(
    request: Request, session: DbSession, state: State, q: SearchText = "", page: PageNumber = 1
) -> Response:
    return _images_page(request, session, state, q=q, number=page)


@editor.post("/images/{image_id}/delete")
def delete(request: Request, session: DbSession, state: State, image_id: RowId) -> Response:
    try:
        with session.begin_nested():
            name = media.delete_image(session, image_id, actor(request))
    except media.ImageInUseError as refused:
        return _images_page(request, session, state, in_use=(refused.filename, refused.users))
    flash(request, "flash.image_deleted", name=name)
    return see_other("/admin/images")


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
    request: Request,
    session: Session,
    state: WebState,
    error: Exception | None = None,
    *,
    q: str = "",
    number: int = 1,
    in_use: tuple[str, list[str]] | None = None,
) -> Response:
    found = media.search_images(session, q, number)
    context = {
        "found": found,
        "images": found.images,
        "q": q,
        "total": _count(found.total, choose_language(request)),
        "public_url": state.settings.public_url,
        "problem": problem(error) if error else _in_use(in_use),
        "max_mb": MAX_IMAGE_BYTES // (1024 * 1024),
    }
    status = 400 if error else 409 if in_use else 200
    return page(request, "images.html", context, status_code=status)


def _count(value: int, language: str) -> str:
    """2.027 on Italian pages, 2,027 on English ones."""
    text = f"{value:,}"
    return text.replace(",", ".") if language == "it" else text


def _in_use(in_use: tuple[str, list[str]] | None) -> dict[str, object] | None:
    if in_use is None:
        return None
    filename, users = in_use
    values = {"name": filename, "names": ", ".join(users)}
    return {"key": "media.in_use", "values": values, "detail": ""}
