"""The pure checks over a compiled edition: size, language, images, links, contrast, headers.

Each check takes plain values and returns a :class:`PreflightReport`; nothing
here reads a database, runs a program or opens a connection.
"""

from __future__ import annotations

import email.policy
import re
from email.parser import BytesHeaderParser
from urllib.parse import urlsplit

from dispatcher.editions.newsletter import MIN_CONTRAST, NewsletterSettings, contrast_ratio
from dispatcher.preflight.findings import PreflightReport
from dispatcher.preflight.scan import HtmlScan, Link

#: Gmail hides everything after about 102 KB of HTML behind "[Message clipped]",
#: the unsubscribe link in the footer included.
GMAIL_CLIP_BYTES = 102_400
SIZE_WARNING_BYTES = 90 * 1024
LARGE_TEXT_CONTRAST = 3.0  # WCAG AA for large text (24px, or 18.66px bold)
LINK_SCHEMES = ("http", "https", "mailto")
MAX_EXAMPLES = 5
# Dot-separated labels of letters (any script: IDN hosts), digits and inner hyphens.
_HOST = re.compile(r"[^\W_](?:[\w-]*[^\W_])?(?:\.[^\W_](?:[\w-]*[^\W_])?)+")
_MAILTO = re.compile(r"[^@\s]+@[^@\s]+\.[^@\s]+")


def check_size(html: str) -> PreflightReport:
    report = PreflightReport()
    size = len(html.encode("utf-8"))
    if size > GMAIL_CLIP_BYTES:
        report.error(
            "html.size",
            f"the HTML is {size:,} bytes: Gmail clips messages over {GMAIL_CLIP_BYTES:,} "
            "bytes and hides the rest, unsubscribe link included; shorten the edition",
            "html",
            size=size,
            limit=GMAIL_CLIP_BYTES,
        )
    elif size > SIZE_WARNING_BYTES:
        report.warn(
            "html.size",
            f"the HTML is {size:,} bytes, close to Gmail's clipping at {GMAIL_CLIP_BYTES:,}",
            "html",
            size=size,
            limit=GMAIL_CLIP_BYTES,
        )
    return report


def check_language(scan: HtmlScan, newsletter: NewsletterSettings) -> PreflightReport:
    report = PreflightReport()
    if scan.lang is None:
        report.error(
            "html.lang",
            "the <html> element has no lang attribute: screen readers cannot pick the language",
            "html",
        )
    elif scan.lang.split("-")[0].lower() != newsletter.language.split("-")[0].lower():
        report.warn(
            "html.lang",
            f'the HTML says lang="{scan.lang}" but the newsletter is in {newsletter.language}',
            "html",
            lang=scan.lang,
            language=newsletter.language,
        )
    return report


def check_images(scan: HtmlScan) -> PreflightReport:
    report = PreflightReport()
    for image in scan.images:
        where = f"image {image.src or '(no src)'}"
        if image.alt is None:
            report.error(
                "image.alt",
                "the image has no alt text: readers who block images or use a screen "
                'reader get nothing (write alt, or alt="" if it is only decoration)',
                where,
            )
        elif not image.alt.strip() and image.in_link:
            report.warn(
                "image.alt", "a linked image with empty alt text gives the link no name", where
            )
        if not image.width:
            report.warn(
                "image.width",
                "the image has no width: Outlook shows it at its full size and breaks the layout",
                where,
            )
    return report


def check_links(scan: HtmlScan) -> PreflightReport:
    report = PreflightReport()
    seen: set[str] = set()
    for link in scan.links:
        if link.href in seen:
            continue
        seen.add(link.href)
        problem = link_problem(link.href)
        if problem is not None:
            code, message = problem
            report.error(code, message, _link_where(link), href=link.href)
    return report


def link_problem(href: str) -> tuple[str, str] | None:
    """What is wrong with a link, as (code, message), or None if it looks usable."""
    href = href.strip()
    if not href:
        return "link.malformed", "the link has no address"
    if "{{" in href or "}}" in href or "%7B%7B" in href.upper():
        return "link.malformed", f"{href!r} still holds a template placeholder"
    if any(c.isspace() or ord(c) < 32 for c in href):
        return "link.malformed", f"{href!r} contains spaces or control characters"
    parts = urlsplit(href)
    scheme = parts.scheme.lower()
    if scheme not in LINK_SCHEMES:
        shown = f"{scheme}:" if scheme else "a relative address"
        return "link.scheme", f"{href!r} uses {shown}; only http(s) and mailto work in email"
    if scheme == "mailto":
        address = parts.path.split(",")[0]
        return None if _MAILTO.fullmatch(address) else ("link.malformed", f"{href!r}: bad address")
    try:
        host, _ = parts.hostname, parts.port
    except ValueError:
        return "link.malformed", f"{href!r} has an invalid port"
    if not host or not _HOST.fullmatch(host):
        return "link.malformed", f"{href!r} has no valid host name"
    return None


def check_contrast(scan: HtmlScan) -> PreflightReport:
    """Text whose colour and background are both known, against WCAG AA."""
    report = PreflightReport()
    seen: set[tuple[str, str, bool]] = set()
    for use in scan.colours:
        key = (use.foreground, use.background, use.large)
        if key in seen:
            continue
        seen.add(key)
        needed = LARGE_TEXT_CONTRAST if use.large else MIN_CONTRAST
        ratio = contrast_ratio(use.foreground, use.background)
        if ratio < needed:
            report.error(
                "contrast.low",
                f"text in {use.foreground} on {use.background} has a contrast of {ratio:.2f}:1, "
                f'below the {needed}:1 of WCAG AA (e.g. "{use.sample}")',
                "html",
                foreground=use.foreground,
                background=use.background,
                ratio=f"{ratio:.2f}",
                needed=needed,
            )
    return report


def check_newsletter_colours(newsletter: NewsletterSettings) -> PreflightReport:
    report = PreflightReport()
    for name, foreground, background in newsletter.colours.contrast_pairs():
        ratio = contrast_ratio(foreground, background)
        if ratio < MIN_CONTRAST:
            report.error(
                "contrast.low",
                f"{foreground} on {background} has a contrast of {ratio:.2f}:1, "
                f"below the {MIN_CONTRAST}:1 of WCAG AA",
                f"newsletter colours.{name}",
                foreground=foreground,
                background=background,
                ratio=f"{ratio:.2f}",
                needed=MIN_CONTRAST,
            )
    return report


def check_headers(message: bytes) -> PreflightReport:
    """RFC 8058 one-click unsubscribe and List-Id, which Gmail and Yahoo require of bulk mail."""
    report = PreflightReport()
    headers = BytesHeaderParser(policy=email.policy.default).parsebytes(message)
    unsubscribe = str(headers.get("List-Unsubscribe") or "")
    uris = re.findall(r"<([^>]*)>", unsubscribe)
    if not any(uri.startswith("https://") for uri in uris):
        report.error(
            "header.list_unsubscribe",
            "the message has no List-Unsubscribe header with an https address",
            "headers",
        )
    post = str(headers.get("List-Unsubscribe-Post") or "").strip()
    if post != "List-Unsubscribe=One-Click":
        report.error(
            "header.list_unsubscribe_post",
            "the message lacks 'List-Unsubscribe-Post: List-Unsubscribe=One-Click' (RFC 8058)",
            "headers",
        )
    if not headers.get("List-Id"):
        report.warn("header.list_id", "the message has no List-Id header", "headers")
    return report


def _link_where(link: Link) -> str:
    text = " ".join(link.text.split())[:60]
    return f'link "{text}"' if text else f"link {link.href[:80]}"
