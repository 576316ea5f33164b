"""The media library: find pictures by name or alt text, and delete those nothing uses.

A picture is in use when an edition's source or a newsletter's settings (its logo)
names its public address: deleting it would leave a hole in mail already sent and
in the web archive, so that is refused, naming who uses it. Searching matches any
part of the file name or the alt text, whatever its case.

Services take a session and never commit.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import String, cast, func, or_, select
from sqlalchemy.orm import Session, defer

from dispatcher.errors import StateError
from dispatcher.models import Edition, Image
from dispatcher.office.images import get_image
from dispatcher.office.users import audit
from subscribers.models import MailingList

PAGE_SIZE = 20
MAX_QUERY = 200


class ImageInUseError(StateError):
    """The picture is used by these editions or newsletters; nothing was deleted."""

    def __init__(self, filename: str, users: list[str]) -> None:
        super().__init__(f"picture {filename} is used by: {', '.join(users)}")
        self.filename = filename
        self.users = users
        self.coded("media.in_use", name=filename, names=", ".join(users))


@dataclass(frozen=True)
class MediaPage:
    """One page of pictures found, and how many pages there are."""

    images: list[Image]
    total: int
    page: int
    pages: int


def search_images(session: Session, query: str, page: int = 1) -> MediaPage:
    """The pictures whose name or alt text contains ``query``, the latest first."""
    found = select(Image).options(defer(Image.data))
    words = query.strip()[:MAX_QUERY]
    if words:
        pattern = "%" + _escape_like(words.lower()) + "%"
        found = found.where(
            or_(
                func.lower(Image.filename).like(pattern, escape="\\"),
                func.lower(Image.alt).like(pattern, escape="\\"),
            )
        )
    total = int(session.scalar(select(func.count()).select_from(found.subquery())) or 0)
    pages = max(1, -(-total // PAGE_SIZE))
    page = min(max(page, 1), pages)
    rows = session.scalars(
        found.order_by(Image.id.desc()).offset((page - 1) * PAGE_SIZE).limit(PAGE_SIZE)
    )
    return MediaPage(list(rows), total, page, pages)


def image_users(session: Session, image_id: int) -> list[str]:
    """Who names the picture's address: "Cronache n. 12" for editions, then newsletters."""
    marker = "%" + _escape_like(f"/images/{image_id}/") + "%"
    editions = session.execute(
        select(MailingList.name, Edition.number)
        .join(MailingList, MailingList.id == Edition.list_id)
        .where(Edition.source.like(marker, escape="\\"))
        .order_by(MailingList.name, Edition.number)
    )
    newsletters = session.scalars(
        select(MailingList.name)
        .where(cast(MailingList.settings, String).like(marker, escape="\\"))
        .order_by(MailingList.name)
    )
    return [f"{name} n. {number}" for name, number in editions] + list(newsletters)


def delete_image(session: Session, image_id: int, actor: str) -> str:
    """Delete a picture that nothing uses.

    :returns: its file name
    :raises ImageInUseError: naming the editions and newsletters that use it
    :raises NotFoundError: if there is no such picture
    """
    image = get_image(session, image_id)
    users = image_users(session, image_id)
    if users:
        raise ImageInUseError(image.filename, users)
    name = image.filename
    detail = {"filename": name, "sha256": image.sha256, "alt": image.alt}
    audit(session, actor, "image.delete", "image", image_id, **detail)
    session.delete(image)
    session.flush()
    return name


def _escape_like(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
