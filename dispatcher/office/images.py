"""Pictures for editions: checked on upload, kept in the database, served publicly.

An upload must be PNG, JPEG, GIF or WebP judged by its first bytes (never by its
name or by what the browser claims), no bigger than :data:`MAX_IMAGE_BYTES`, and
come with alt text: people who cannot see the picture, and mail clients that
block images, get the words instead. Width and height are read from the file's
own header by the small parsers below, so no imaging library is needed; SVG is
refused because it can carry scripts.

Services take a session and never commit.
"""

from __future__ import annotations

import hashlib
import re
import struct
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session, defer

from dispatcher.db import get_row
from dispatcher.errors import ContentError, NotFoundError
from dispatcher.models import Edition, Image
from dispatcher.office.users import audit

MAX_IMAGE_BYTES = 2 * 1024 * 1024  # larger pictures make heavy emails; resize them first
MAX_ALT_LENGTH = 400
MAX_NAME_LENGTH = 80

_PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
# Start-of-frame markers carry the size; C4, C8 and CC share the range but do not.
_JPEG_FRAME_MARKERS = frozenset(range(0xC0, 0xD0)) - {0xC4, 0xC8, 0xCC}
# Markers without a length field: TEM and the restart markers.
_JPEG_STANDALONE = frozenset({0x01, *range(0xD0, 0xD8)})
_UNSAFE_NAME = re.compile(r"[^a-z0-9._-]+")


class ImageError(ContentError):
    """An upload that is not a usable picture; the message says why."""


@dataclass(frozen=True)
class ImageInfo:
    """What a picture's header says about it."""

    content_type: str
    extension: str
    width: int
    height: int


def sniff(data: bytes) -> ImageInfo:
    """Recognise a PNG, JPEG, GIF or WebP file by its bytes and read its size.

    :raises ImageError: for any other content, or a header too short or damaged
    """
    try:
        info = _read_header(data)
    except (struct.error, IndexError) as exc:
        raise ImageError("the picture's header is cut short or damaged") from exc
    if info.width <= 0 or info.height <= 0:
        raise ImageError("the picture's header gives no width or height").coded("image.damaged")
    return info


def _read_header(data: bytes) -> ImageInfo:
    if data.startswith(_PNG_SIGNATURE):
        return _png(data)
    if data[:6] in (b"GIF87a", b"GIF89a"):
        return _gif(data)
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return _webp(data)
    if data[:3] == b"\xff\xd8\xff":
        return _jpeg(data)
    raise ImageError("this is not a PNG, JPEG, GIF or WebP picture").coded("image.not_picture")


def _png(data: bytes) -> ImageInfo:
    # The first chunk must be IHDR: width and height are its first two big-endian words.
    if data[12:16] != b"IHDR":
        raise ImageError("the PNG file does not start with its IHDR header").coded("image.damaged")
    width, height = struct.unpack_from(">II", data, 16)
    return ImageInfo("image/png", "png", width, height)


def _gif(data: bytes) -> ImageInfo:
    width, height = struct.unpack_from("<HH", data, 6)  # the logical screen size
    return ImageInfo("image/gif", "gif", width, height)


def _webp(data: bytes) -> ImageInfo:
    chunk = data[12:16]
    if chunk == b"VP8 ":
        # Lossy: a 3-byte frame tag, the start code 9d 01 2a, then 14-bit sizes.
        if data[23:26] != b"\x9d\x01\x2a":
            raise ImageError("the WebP picture has no key frame").coded("image.damaged")
        width, height = struct.unpack_from("<HH", data, 26)
        return ImageInfo("image/webp", "webp", width & 0x3FFF, height & 0x3FFF)
    if chunk == b"VP8L":
        # Lossless: signature 0x2f, then width-1 and height-1 in 14 bits each.
        if data[20] != 0x2F:
            raise ImageError("the lossless WebP picture has a bad signature").coded("image.damaged")
        (bits,) = struct.unpack_from("<I", data, 21)
        return ImageInfo("image/webp", "webp", (bits & 0x3FFF) + 1, ((bits >> 14) & 0x3FFF) + 1)
    if chunk == b"VP8X":
        # Extended: canvas width-1 and height-1 as 24-bit little-endian numbers.
        if len(data) < 30:
            raise ImageError("the picture's header is cut short or damaged").coded("image.damaged")
        width = int.from_bytes(data[24:27], "little") + 1
        height = int.from_bytes(data[27:30], "little") + 1
        return ImageInfo("image/webp", "webp", width, height)
    raise ImageError("the WebP picture has an unknown format").coded("image.damaged")


def _jpeg(data: bytes) -> ImageInfo:
    """Walk the marker segments up to the first start-of-frame, which holds the size."""
    position = 2
    while position + 4 <= len(data):
        if data[position] != 0xFF:
            problem = "the JPEG file is damaged (a segment does not start with a marker)"
            raise ImageError(problem).coded("image.damaged")
        marker = data[position + 1]
        if marker == 0xFF:  # fill byte before a marker
            position += 1
            continue
        if marker in _JPEG_STANDALONE:
            position += 2
            continue
        if marker in (0xD9, 0xDA):  # end of image or start of scan, and still no frame
            break
        if marker in _JPEG_FRAME_MARKERS:
            height, width = struct.unpack_from(">HH", data, position + 5)
            return ImageInfo("image/jpeg", "jpg", width, height)
        (length,) = struct.unpack_from(">H", data, position + 2)
        position += 2 + length
    raise ImageError("the JPEG file has no frame header giving its size").coded("image.damaged")


def safe_filename(name: str, extension: str) -> str:
    """A name safe in a URL path: lower-case letters, digits, ``.-_``, the right extension."""
    base = re.split(r"[/\\]", name)[-1].lower()
    stem = base.rsplit(".", 1)[0] if "." in base else base
    stem = _UNSAFE_NAME.sub("-", stem).strip(".-_")[:MAX_NAME_LENGTH] or "immagine"
    return f"{stem}.{extension}"


def check_alt(alt: str) -> str:
    """:raises ImageError: if the alt text is missing or too long"""
    cleaned = " ".join(alt.split())
    if not cleaned:
        raise ImageError("describe the picture in the alt text: it is required").coded("image.alt")
    if len(cleaned) > MAX_ALT_LENGTH:
        raise ImageError(f"the alt text is longer than {MAX_ALT_LENGTH} characters").coded(
            "image.alt_long", max=MAX_ALT_LENGTH
        )
    return cleaned


def store_image(
    session: Session,
    data: bytes,
    filename: str,
    alt: str,
    actor: str,
    edition_id: int | None = None,
) -> Image:
    """Check and keep an uploaded picture.

    :raises ImageError: if it is too big, not a picture we take, or has no alt text
    :raises NotFoundError: if ``edition_id`` names no edition
    """
    if edition_id is not None and session.get(Edition, edition_id) is None:
        raise NotFoundError(f"no edition with id {edition_id}")
    if len(data) > MAX_IMAGE_BYTES:
        megabytes = MAX_IMAGE_BYTES // (1024 * 1024)
        raise ImageError(f"the picture is larger than {megabytes} MB").coded(
            "image.too_large", megabytes=megabytes
        )
    info = sniff(data)
    image = Image(
        edition_id=edition_id,
        filename=safe_filename(filename, info.extension),
        content_type=info.content_type,
        data=data,
        width=info.width,
        height=info.height,
        alt=check_alt(alt),
        sha256=hashlib.sha256(data).hexdigest(),
        uploaded_by=actor,
    )
    session.add(image)
    session.flush()
    detail = {
        "filename": image.filename,
        "edition_id": edition_id,
        "bytes": len(data),
        "sha256": image.sha256,
    }
    audit(session, actor, "image.upload", "image", image.id, **detail)
    return image


def get_image(session: Session, image_id: int) -> Image:
    """:raises NotFoundError: if there is no such picture"""
    return get_row(session, Image, image_id, "image")


def recent_images(session: Session, edition_id: int | None = None, limit: int = 50) -> list[Image]:
    """Pictures, the latest first (those of one edition when ``edition_id`` is given)."""
    # The bytes stay in the database: a listing needs names and sizes only.
    query = select(Image).options(defer(Image.data)).order_by(Image.id.desc()).limit(limit)
    if edition_id is not None:
        query = query.where(Image.edition_id == edition_id)
    return list(session.scalars(query))


def public_path(image: Image) -> str:
    """The picture's address on the public site (prefix it with PUBLIC_URL in emails)."""
    return f"/images/{image.id}/{image.filename}"
