"""Pictures: recognised by their bytes, sized from their headers, served publicly."""

from __future__ import annotations

import struct
import zlib

import pytest
from sqlalchemy import select

from dispatcher.models import AuditEntry, Image
from dispatcher.office.images import MAX_IMAGE_BYTES, ImageError, safe_filename, sniff, store_image
from tests.support.admin import Desk
from tests.support.data import add_example_edition, create_newsletter

pytestmark = pytest.mark.usefixtures("quick_preflight")


def png(width: int, height: int) -> bytes:
    """A real PNG of one colour (every chunk with its CRC)."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        body = kind + data
        return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body))

    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    rows = b"".join(b"\x00" + b"\xc0\x20\x20" * width for _ in range(height))
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(rows))
        + chunk(b"IEND", b"")
    )


def gif(width: int, height: int) -> bytes:
    return b"GIF89a" + struct.pack("<HHBBB", width, height, 0, 0, 0) + b";"


def jpeg(width: int, height: int) -> bytes:
    """The segments a decoder meets before the frame: APP0 (JFIF), a quantisation table, SOF0."""
    app0 = b"\xff\xe0" + struct.pack(">H", 16) + b"JFIF\x00\x01\x01\x00\x00\x01\x00\x01\x00\x00"
    dqt = b"\xff\xdb" + struct.pack(">H", 67) + bytes(65)
    sof0 = b"\xff\xc0" + struct.pack(">HBHHB", 17, 8, height, width, 3) + bytes(9)
    return b"\xff\xd8" + app0 + dqt + sof0 + b"\xff\xd9"


def webp(kind: bytes, width: int, height: int) -> bytes:
    if kind == b"VP8 ":
        data = b"\x10\x02\x00\x9d\x01\x2a" + struct.pack("<HH", width, height) + bytes(8)
    elif kind == b"VP8L":
        data = b"\x2f" + struct.pack("<I", (width - 1) | ((height - 1) << 14)) + bytes(4)
    else:
        data = b"\x00\x00\x00\x00" + (width - 1).to_bytes(3, "little")
        data += (height - 1).to_bytes(3, "little")
    body = b"WEBP" + kind + struct.pack("<I", len(data)) + data
    return b"RIFF" + struct.pack("<I", len(body)) + body


@pytest.mark.parametrize(
    ("data", "content_type", "size"),
    [
        (png(37, 23), "image/png", (37, 23)),
        (gif(600, 2), "image/gif", (600, 2)),
        (jpeg(1280, 720), "image/jpeg", (1280, 720)),
        (webp(b"VP8 ", 640, 360), "image/webp", (640, 360)),
        (webp(b"VP8L", 300, 16383), "image/webp", (300, 16383)),
        (webp(b"VP8X", 20000, 3), "image/webp", (20000, 3)),
    ],
)
def test_the_header_gives_type_and_size(
    data: bytes, content_type: str, size: tuple[int, int]
) -> None:
    info = sniff(data)
    assert (info.content_type, (info.width, info.height)) == (content_type, size)


@pytest.mark.parametrize(
    ("data", "problem"),
    [
        (b"<svg xmlns='http://www.w3.org/2000/svg'/>", "not a PNG, JPEG, GIF or WebP"),
        (b"Just some text", "not a PNG, JPEG, GIF or WebP"),
        (png(10, 10)[:20], "cut short"),
        (jpeg(10, 10).replace(b"\xff\xc0", b"\xff\xda"), "no frame header"),
        (gif(0, 10), "no width or height"),
        (webp(b"VP8 ", 10, 10).replace(b"\x9d\x01\x2a", b"\x00\x00\x00"), "no key frame"),
    ],
)
def test_what_is_not_a_picture_is_refused(data: bytes, problem: str) -> None:
    with pytest.raises(ImageError, match=problem):
        sniff(data)


def test_names_are_made_safe_with_the_real_extension() -> None:
    assert safe_filename("../../Foto Copertina!.JPG", "png") == "foto-copertina.png"
    assert safe_filename("C:\\Users\\redazione\\logo.gif", "gif") == "logo.gif"
    assert safe_filename("???", "webp") == "immagine.webp"


def test_pictures_too_big_or_without_alt_text_are_refused(desk: Desk) -> None:
    with desk.sessions.begin() as session:
        with pytest.raises(ImageError, match="larger than 2 MB"):
            store_image(session, png(1, 1) + bytes(MAX_IMAGE_BYTES), "big.png", "Big", "editor")
        with pytest.raises(ImageError, match="alt text"):
            store_image(session, png(1, 1), "dot.png", "   ", "editor")
        assert session.scalar(select(Image.id)) is None


def test_an_uploaded_picture_is_served_to_anyone_with_a_long_cache(desk: Desk) -> None:
    with desk.client("editor") as editor:
        answer = editor.post(
            "/admin/images",
            {"alt": "La Palazzina di Stupinigi"},
            files={"file": ("Stupinigi 2024.PNG", png(64, 48), "image/png")},
        )
        listing = editor.http.get(answer.headers["location"]).text
    with desk.sessions() as session:
        image = session.scalars(select(Image)).one()
        entry = session.scalars(select(AuditEntry).where(AuditEntry.action == "image.upload"))
        assert entry.one().username == "editor"
    path = f"/images/{image.id}/stupinigi-2024.png"
    assert (image.width, image.height, image.filename) == (64, 48, "stupinigi-2024.png")
    assert f"https://newsletter.example.org{path}" in listing

    with desk.client() as anonymous:
        served = anonymous.http.get(path)
        again = anonymous.http.get(path, headers={"If-None-Match": served.headers["etag"]})
        misnamed = anonymous.http.get(f"/images/{image.id}/other.png")
    assert served.status_code == 200 and served.content == png(64, 48)
    assert served.headers["content-type"] == "image/png"
    assert served.headers["cache-control"] == "public, max-age=31536000, immutable"
    assert served.headers["x-content-type-options"] == "nosniff"
    assert again.status_code == 304
    assert misnamed.status_code == 404


def test_a_bad_upload_is_shown_with_its_reason(desk: Desk) -> None:
    with desk.client("editor") as editor:
        svg = editor.post(
            "/admin/images",
            {"alt": "Logo"},
            files={"file": ("logo.svg", b"<svg/>", "image/svg+xml")},
        )
        no_alt = editor.post("/admin/images", files={"file": ("dot.png", png(1, 1))})
    assert svg.status_code == 400 and "Immagine non accettata" in svg.text
    assert "non è un&#39;immagine PNG, JPEG, GIF o WebP" in svg.text
    assert no_alt.status_code == 400 and "testo alternativo" in no_alt.text


def test_a_picture_uploaded_from_an_edition_page_is_listed_there(desk: Desk) -> None:
    with desk.sessions.begin() as session:
        create_newsletter(session)
        edition_id = add_example_edition(session, desk.settings)
    with desk.client("editor") as editor:
        answer = editor.post(
            "/admin/images",
            {"alt": "La Fiaccola", "edition_id": str(edition_id)},
            files={"file": ("fiaccola.gif", gif(120, 80))},
        )
        page = editor.http.get(f"/admin/editions/{edition_id}").text
    assert answer.headers["location"] == f"/admin/editions/{edition_id}#images"
    assert "/images/1/fiaccola.gif" in page and "120 × 80" in page
