"""The preflight of a stored edition: build its sample message, then run every check.

This is the edge between the database and the pure checks: it reads the
edition and its newsletter's settings, builds the message a sample recipient
would get (:func:`dispatcher.sends.compose.preview`), and runs SpamAssassin on it.
"""

from __future__ import annotations

import dataclasses

from sqlalchemy.orm import Session

from dispatcher.config import Settings
from dispatcher.editions.newsletter import NewsletterSettings
from dispatcher.editions.variants import language_of
from dispatcher.errors import NotFoundError
from dispatcher.models import Edition
from dispatcher.preflight import checks, twin
from dispatcher.preflight.findings import PreflightReport
from dispatcher.preflight.online import check_links_online
from dispatcher.preflight.scan import scan_html
from dispatcher.preflight.signing import check_signing
from dispatcher.preflight.spam import check_spam
from dispatcher.sends import variants
from dispatcher.sends.compose import preview
from subscribers.models import MailingList
from subscribers.tokens import Signer


def check_compiled(
    html: str, text: str, message_bytes: bytes, newsletter: NewsletterSettings
) -> PreflightReport:
    """Every offline check that needs no program: pure, and fast (a few milliseconds).

    :param html: the HTML part as a recipient gets it (slots filled)
    :param text: the plain-text part, likewise
    :param message_bytes: the whole message, headers included
    :param newsletter: the newsletter's settings (colours, language)
    :returns: the errors and warnings found
    """
    scan = scan_html(html)
    return PreflightReport().merge(
        (
            checks.check_size(html),
            checks.check_language(scan, newsletter),
            checks.check_images(scan),
            checks.check_links(scan),
            checks.check_contrast(scan),
            checks.check_newsletter_colours(newsletter),
            twin.check_text_twin(scan, text),
            checks.check_headers(message_bytes),
        )
    )


def run_preflight(
    session: Session,
    edition_id: int,
    settings: Settings,
    *,
    spamassassin: bool = True,
    online: bool = False,
) -> PreflightReport:
    """Check an edition before it is approved or sent.

    :param spamassassin: run SpamAssassin (local rules) when it is installed
    :param online: also ask every link's server whether it answers (off by default)
    :returns: the errors and warnings found; nothing is stored
    :raises NotFoundError: if there is no such edition
    :raises ContentError: if the newsletter's stored settings are no longer valid
    """
    edition = session.get(Edition, edition_id)
    if edition is None:
        raise NotFoundError(f"no edition with id {edition_id}")
    mailing_list = session.get_one(MailingList, edition.list_id)
    newsletter = NewsletterSettings.from_dict(mailing_list.settings, f"list {mailing_list.slug}")
    sample = preview(session, edition, settings, Signer(settings.all_secret_keys))
    report = check_compiled(sample.html, sample.text, sample.eml, newsletter)
    dkim = settings.dkim
    signing = check_signing(newsletter.from_address, dkim.domain, dkim.enabled, settings.smtp.url)
    report.merge((signing,))
    if spamassassin:
        report.merge((check_spam(sample.eml),))
    if online:
        report.merge((check_links_online(link.href for link in scan_html(sample.html).links),))
    for variant in variants.whole_variants(session, edition.id):
        report.merge((_variant_report(session, edition, settings, newsletter, variant),))
    return report


def _variant_report(
    session: Session,
    edition: Edition,
    settings: Settings,
    newsletter: NewsletterSettings,
    variant: variants.Compiled,
) -> PreflightReport:
    """The offline checks of another language's whole edition, its findings marked so.

    The variants by section are this and the Italian edition with articles left out:
    their links, pictures and contrast are checked here, and none is larger.
    """
    signer = Signer(settings.all_secret_keys)
    sample = preview(session, edition, settings, signer, variant)
    language = language_of(variant.key)
    found = check_compiled(
        sample.html, sample.text, sample.eml, dataclasses.replace(newsletter, language=language)
    )
    marked = PreflightReport()
    for finding in found.errors:
        marked.error(finding.code, finding.message, f"[{variant.key}] {finding.where}")
    for finding in found.warnings:
        marked.warn(finding.code, finding.message, f"[{variant.key}] {finding.where}")
    return marked
