"""From a send's stored edition and newsletter settings to its message template.

This is the edge between the database and the pure message code: it reads the
edition's compiled output and the list's settings, and hands plain values to
:func:`dispatcher.message.template.build_template`.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field, replace

from sqlalchemy.orm import Session

from dispatcher.config import Settings
from dispatcher.editions.newsletter import NewsletterSettings
from dispatcher.errors import NotFoundError
from dispatcher.message.dkim import DkimKey, aligned
from dispatcher.message.personalise import Personaliser, Recipient
from dispatcher.message.slots import Slot, unsubscribe_path
from dispatcher.message.template import (
    LEGACY_MESSAGE_KEY,
    MailContent,
    MessageContent,
    MessageTemplate,
    build_template,
    format_date,
)
from dispatcher.models import Edition, Send
from dispatcher.render import EditionLinks
from dispatcher.sends import variants
from subscribers.models import MailingList
from subscribers.tokens import Purpose, Signer

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class SendMessages:
    """What a worker needs to fill one send's messages."""

    template: MessageTemplate
    bounce_domain: str
    message_key: str
    variants: dict[str, MessageTemplate] = field(default_factory=dict)  # by variant key


def message_content(
    edition: Edition,
    newsletter: NewsletterSettings,
    settings: Settings,
    slug: str,
    send_id: int | None,
    subject_prefix: str = "",
) -> MessageContent:
    """The message's fixed values for an edition of a newsletter."""
    mail = newsletter.mail_content(subject_prefix + edition.subject, edition.text, edition.html)
    feedback_id = f"{send_id}:{slug}:dispatcher" if send_id is not None else None
    mailto_domain = bounce_domain(newsletter, settings)
    return list_content(mail, newsletter, settings.public_url, slug, mailto_domain, feedback_id)


def list_content(
    mail: MailContent,
    newsletter: NewsletterSettings,
    public_url: str,
    slug: str,
    mailto_domain: str,
    feedback_id: str | None = None,
) -> MessageContent:
    """``mail`` with the list's headers: List-Id, one-click unsubscribe, archive (pure)."""
    return MessageContent(
        **asdict(mail),
        list_name=newsletter.name,
        list_identifier=newsletter.list_id,
        unsubscribe_url_prefix=public_url + unsubscribe_path(""),
        unsubscribe_mailto_domain=mailto_domain,
        archive_url=f"{public_url}/archive/{slug}",
        feedback_id=feedback_id,
    )


def bounce_domain(newsletter: NewsletterSettings, settings: Settings) -> str:
    """The domain of VERP return paths and of the unsubscribe mailto."""
    return settings.bounce_domain or newsletter.from_address.rsplit("@", 1)[1]


def send_messages(session: Session, send_id: int, settings: Settings) -> SendMessages:
    """Build the message template of a send, once per worker process and send.

    :raises NotFoundError: if the send does not exist
    """
    send = session.get(Send, send_id)
    if send is None:
        raise NotFoundError(f"no send with id {send_id}")
    edition = session.get_one(Edition, send.edition_id)
    mailing_list = session.get_one(MailingList, edition.list_id)
    newsletter = NewsletterSettings.from_dict(mailing_list.settings)
    content = message_content(edition, newsletter, settings, mailing_list.slug, send_id)
    seed = f"{edition.compiled_hash}:{send_id}"
    template = build_template(content, boundary_seed=seed)
    key = send.message_key or LEGACY_MESSAGE_KEY
    built = {
        compiled.key: build_template(
            replace(content, subject=compiled.subject, html=compiled.html, text=compiled.text),
            boundary_seed=f"{seed}:{compiled.key}",
        )
        for compiled in _send_variants(session, send, edition, newsletter, settings, mailing_list)
    }
    return SendMessages(template, bounce_domain(newsletter, settings), key, built)


def _send_variants(
    session: Session,
    send: Send,
    edition: Edition,
    newsletter: NewsletterSettings,
    settings: Settings,
    mailing_list: MailingList,
) -> list[variants.Compiled]:
    """The compiled variants the send's ledger names (none for an edition without any)."""
    if not variants.has_variants(variants.content_of(edition)):
        return []
    keys = variants.send_variant_keys(session, send.id)
    links = EditionLinks.for_edition(settings.public_url, mailing_list.slug, edition.number)
    found = variants.compiled_variants(session, edition, keys, newsletter, links)
    return [found[key] for key in keys]


def personaliser_for(
    session: Session,
    send_id: int,
    settings: Settings,
    signer: Signer,
    dkim_keys: Sequence[DkimKey] = (),
) -> Personaliser:
    """A :class:`Personaliser` for one send."""
    built = send_messages(session, send_id, settings)
    from_domain = built.template.message_id_domain  # the From address's domain
    for key in dkim_keys:
        if not aligned(from_domain, key.domain):
            log.error(
                "send %d: signed by %s but From %s: DMARC ignores the signature (DKIM_DOMAIN)",
                send_id, key.domain, from_domain,
            )  # fmt: skip
    return Personaliser(
        built.template,
        signer,
        send_id,
        built.bounce_domain,
        redirect_to=settings.sending.redirect_all_to,
        dkim_keys=dkim_keys,
        message_key=built.message_key,
        variants=built.variants,
    )


@dataclass(frozen=True)
class Preview:
    """An edition as one sample recipient would get it."""

    html: str
    text: str
    eml: bytes


PREVIEW_RECIPIENT = ("Mario Rossi", "mario.rossi@example.org")


def preview(
    session: Session,
    edition: Edition,
    settings: Settings,
    signer: Signer,
    variant: variants.Compiled | None = None,
) -> Preview:
    """Fill an edition's message for a sample recipient (ids 0: the links lead nowhere).

    :param variant: one of the edition's compiled variants (its English, say) instead
    """
    mailing_list = session.get_one(MailingList, edition.list_id)
    newsletter = NewsletterSettings.from_dict(mailing_list.settings)
    content = message_content(edition, newsletter, settings, mailing_list.slug, None)
    html, text = edition.html, edition.text
    if variant is not None:
        html, text = variant.html, variant.text
        content = replace(content, subject=variant.subject, html=html, text=text)
    template = build_template(content, boundary_seed=edition.compiled_hash)
    personaliser = Personaliser(template, signer, 0, bounce_domain(newsletter, settings))
    name, address = PREVIEW_RECIPIENT
    recipient = Recipient(0, 0, mailing_list.id, address, name)
    message = personaliser.message(recipient, format_date(time.time()))
    tokens = {
        Slot.UNSUBSCRIBE_TOKEN.sentinel: personaliser.unsubscribe_token(recipient),
        Slot.PREFERENCES_TOKEN.sentinel: signer.sign(Purpose.PREFERENCES, 0),
    }
    return Preview(_replace(html, tokens), _replace(text, tokens), message.data)


def _replace(text: str, values: dict[str, str]) -> str:
    for sentinel, value in values.items():
        text = text.replace(sentinel, value)
    return text
