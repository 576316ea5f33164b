"""Compile an edition into the subject, HTML and plain text every recipient gets.

This runs once per edition (Jinja2 -> MJML -> HTML, and a text twin from its own
template); what differs per recipient is left as slot sentinels in the links (see
:mod:`dispatcher.message.slots`) and filled in bytes later. The module is pure: it imports no
database, broker or network code, and only reads the template files.

One Jinja2 environment serves each templates directory for the life of the process,
for every email the project writes (editions here, the sign-up's transactional mails
in :mod:`dispatcher.office.confirmation`): :func:`email_environment`. It escapes
everything except ``*.txt.j2`` templates: ``select_autoescape()`` would leave
``.mjml.j2`` unescaped.
"""

from __future__ import annotations

import functools
import hashlib
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import jinja2
from mjml import mjml2html

from dispatcher import resources
from dispatcher.editions.model import Edition
from dispatcher.editions.newsletter import NewsletterSettings
from dispatcher.errors import TemplateError
from dispatcher.render.context import EditionLinks, template_context
from dispatcher.render.text import heading, wrap

__all__ = [
    "CompiledEdition",
    "EditionLinks",
    "canonical_json",
    "compile_edition",
    "compiled_digest",
    "content_hash",
    "email_environment",
    "mjml_to_html",
    "render_template",
]

TEMPLATES_DIR = resources.templates_dir()
HTML_TEMPLATE = "email/edition.mjml.j2"
TEXT_TEMPLATE = "email/edition.txt.j2"


@dataclass(frozen=True)
class CompiledEdition:
    """An edition ready to be built into messages, with per-recipient slots still open."""

    subject: str
    preheader: str
    html: str  # one long line per MJML's habit; the message builder must wrap it
    text: str  # lines of at most about 76 columns, "\n" line ends
    content_hash: str  # sha256 hex of the edition's canonical JSON
    compiled_hash: str  # sha256 hex of subject, html, text and the newsletter settings


def compile_edition(
    edition: Edition,
    newsletter: NewsletterSettings,
    links: EditionLinks,
    *,
    language: str = "it",
    templates_dir: Path | None = None,
) -> CompiledEdition:
    """Render an edition's HTML and text parts once, for every recipient.

    :param edition: the checked edition
    :param newsletter: the settings of the newsletter it belongs to
    :param links: the edition's web version, unsubscribe and preferences addresses
    :param language: the language of the mail's fixed words (the edition's own texts are
        chosen before: :func:`dispatcher.editions.variants.edition_variant`)
    :param templates_dir: another templates directory (for tests); default ``templates/``
    :returns: the compiled edition
    :raises ContentError: when the edition is for another newsletter or holds an unsafe
        address or the reserved slot marker
    :raises TemplateError: when Jinja2 or MJML refuses a template
    """
    context = template_context(edition, newsletter, links, language)
    html = mjml_to_html(render_template(HTML_TEMPLATE, context, templates_dir), HTML_TEMPLATE)
    text = render_template(TEXT_TEMPLATE, context, templates_dir)
    settings_json = canonical_json(newsletter.to_dict())
    return CompiledEdition(
        subject=edition.subject,
        preheader=edition.preheader,
        html=html,
        text=text,
        content_hash=content_hash(edition),
        compiled_hash=compiled_digest(edition.subject, html, text, settings_json),
    )


def content_hash(edition: Edition) -> str:
    """The sha256 hex digest of an edition's canonical JSON.

    :param edition: the edition
    :returns: 64 hex digits, equal for equal editions
    """
    return hashlib.sha256(canonical_json(edition.to_dict()).encode("utf-8")).hexdigest()


def canonical_json(data: Any) -> str:
    """JSON with sorted keys and no optional spaces, so equal data gives equal text.

    :param data: JSON-ready data
    :returns: the JSON text
    """
    return json.dumps(data, sort_keys=True, ensure_ascii=False, separators=(",", ":"))


def compiled_digest(subject: str, html: str, text: str, settings_json: str) -> str:
    """The sha256 hex digest of a compiled edition: what an approval binds to."""
    # Each part is length-prefixed, so moving text from one part to the next changes the hash.
    digest = hashlib.sha256()
    for part in (subject, html, text, settings_json):
        data = part.encode("utf-8")
        digest.update(len(data).to_bytes(8, "big"))
        digest.update(data)
    return digest.hexdigest()


def email_environment(templates_dir: Path | None = None) -> jinja2.Environment:
    """The one Jinja2 environment of the email templates in ``templates_dir``.

    :param templates_dir: another templates directory (for tests); default ``templates/``
    :returns: an environment shared by every caller for the life of the process
    """
    return _environment(templates_dir or TEMPLATES_DIR)


def render_template(name: str, context: dict[str, Any], templates_dir: Path | None = None) -> str:
    """Render the email template ``name`` with ``context``.

    :raises TemplateError: when Jinja2 refuses the template, naming it (and the line)
    """
    try:
        return email_environment(templates_dir).get_template(name).render(context)
    except jinja2.TemplateSyntaxError as exc:
        raise TemplateError(f"{name}, line {exc.lineno}: {exc.message}") from exc
    except jinja2.TemplateError as exc:
        raise TemplateError(f"{name}: {exc}") from exc


def mjml_to_html(source: str, name: str) -> str:
    """Compile MJML ``source`` (rendered from the template ``name``) into HTML.

    :raises TemplateError: when mjml-python refuses it
    """
    try:
        return mjml2html(source, disable_comments=True)
    except ValueError as exc:
        raise TemplateError(f"MJML refused {name}: {exc}") from exc


@functools.cache
def _environment(templates_dir: Path) -> jinja2.Environment:
    environment = jinja2.Environment(
        loader=jinja2.FileSystemLoader(templates_dir),
        autoescape=_autoescape,  # nosec B701 - escapes all but the .txt.j2 plain text
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
        auto_reload=False,
    )
    environment.filters["wrap"] = wrap
    environment.filters["heading"] = heading
    return environment


def _autoescape(template_name: str | None) -> bool:
    # Escape by default: only the plain-text twin is meant to come out unescaped.
    return not (template_name or "").endswith(".txt.j2")
