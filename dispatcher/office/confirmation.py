"""The transactional mails of signing up: "confirm your subscription" and "you are already in".

Rendered like an edition, by the renderer's one environment (Jinja2 with autoescape,
then mjml-python, and a plain-text twin from its own template), built by the
message core's builder (:func:`dispatcher.message.template.build_transactional`)
with the newsletter's From address, and handed to a transport made for these
messages and closed after.

The mails never repeat what the sign-up form was given besides the address: not
the name (anyone can type anything into a sign-up form, and confirmation mails that
carry it are a known way to send spam from someone else's good domain).

The web edge decides who gets which mail (:mod:`dispatcher.web.routes.public_signup`);
this module only renders, builds and sends, and imports no database code.
"""

from __future__ import annotations

import enum
import logging
import secrets
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any

from dispatcher.editions.newsletter import NewsletterSettings
from dispatcher.errors import DispatcherError, MessageError
from dispatcher.message import headers
from dispatcher.message.outgoing import OutgoingMessage
from dispatcher.message.slots import Slot, preferences_path
from dispatcher.message.template import (
    build_transactional,
    format_date,
    one_off_message_id,
)
from dispatcher.render import mjml_to_html, render_template
from dispatcher.transport.base import OutcomeKind, Transport
from subscribers.addresses import wire_address
from subscribers.errors import InvalidAddressError
from subscribers.tokens import Purpose, Signer

log = logging.getLogger(__name__)

HTML_TEMPLATE = "email/confirm.mjml.j2"
TEXT_TEMPLATE = "email/confirm.txt.j2"

TEXTS: dict[str, dict[str, str]] = {
    "it": {
        "subject.confirm": "Conferma l'iscrizione a {name}",
        "subject.already": "Sei già iscritto a {name}",
        "confirm.lead": "Abbiamo ricevuto una richiesta di iscrizione a {name} "
        "per questo indirizzo email.",
        "confirm.action": "Per ricevere la newsletter, conferma l'iscrizione:",
        "confirm.button": "Conferma l'iscrizione",
        "confirm.expiry": "Il link vale {days} giorni.",
        "confirm.ignore": "Se non hai chiesto tu l'iscrizione, ignora questo messaggio: "
        "senza conferma non riceverai nulla.",
        "already.lead": "Abbiamo ricevuto una nuova richiesta di iscrizione a {name} "
        "per questo indirizzo email, che risulta già iscritto.",
        "already.action": "Non devi fare nulla. Per cambiare le preferenze "
        "o annullare l'iscrizione:",
        "already.button": "Gestisci l'iscrizione",
        "already.expiry": "",
        "already.ignore": "Se non hai chiesto tu l'iscrizione, ignora questo messaggio.",
        "link_text": "Se il pulsante non funziona, copia questo indirizzo nel browser:",
        "footer": "Messaggio automatico inviato da {name}.",
    },
    "en": {
        "subject.confirm": "Confirm your subscription to {name}",
        "subject.already": "You are already subscribed to {name}",
        "confirm.lead": "We received a request to subscribe this email address to {name}.",
        "confirm.action": "To receive the newsletter, please confirm your subscription:",
        "confirm.button": "Confirm my subscription",
        "confirm.expiry": "The link works for {days} days.",
        "confirm.ignore": "If you did not ask to subscribe, ignore this message: "
        "without confirmation you will receive nothing.",
        "already.lead": "We received a new request to subscribe this email address to "
        "{name}; it is already subscribed.",
        "already.action": "There is nothing to do. To change your preferences or unsubscribe:",
        "already.button": "Manage my subscription",
        "already.expiry": "",
        "already.ignore": "If you did not ask to subscribe, ignore this message.",
        "link_text": "If the button does not work, copy this address into your browser:",
        "footer": "Automatic message sent by {name}.",
    },
}


class MailKind(enum.Enum):
    CONFIRM = "confirm"  # a pending sign-up: the link confirms it
    ALREADY = "already"  # the address is already confirmed: the link leads to its preferences


@dataclass(frozen=True)
class ConfirmationMail:
    """One mail to write: plain values, so it can be sent after the request's commit."""

    kind: MailKind
    address: str
    language: str  # "it" or "en"; anything else reads as Italian
    newsletter: NewsletterSettings
    link: str  # the confirmation URL, or the preferences URL for ALREADY


@dataclass(frozen=True)
class RenderedMail:
    subject: str
    html: str
    text: str


def confirm_url(public_url: str, signer: Signer, request_id: int) -> str:
    """The link that confirms one sign-up request (valid ``CONFIRM_MAX_AGE``)."""
    token = signer.sign_expiring(Purpose.SIGNUP, request_id)
    return f"{public_url.rstrip('/')}/conferma/{token}"


def preferences_url(public_url: str, signer: Signer, subscriber_id: int) -> str:
    """The person's preferences page (the same link every edition carries)."""
    token = signer.sign(Purpose.PREFERENCES, subscriber_id)
    return public_url.rstrip("/") + preferences_path(token)


def render_mail(mail: ConfirmationMail, confirm_max_age: int) -> RenderedMail:
    """Render the subject, HTML and text of one mail.

    :param confirm_max_age: seconds a confirmation link works (the mail says the days)
    :raises TemplateError: when Jinja2 or MJML refuses a template
    """
    texts = TEXTS.get(mail.language, TEXTS["it"])
    name = mail.newsletter.name
    days = confirm_max_age // 86400
    words = {key: value.format(name=name, days=days) for key, value in texts.items()}
    context = _context(mail, words)
    html = mjml_to_html(render_template(HTML_TEMPLATE, context), HTML_TEMPLATE)
    text = render_template(TEXT_TEMPLATE, context)
    return RenderedMail(words[f"subject.{mail.kind.value}"], html, text)


def build_message(mail: ConfirmationMail, rendered: RenderedMail, now: float) -> OutgoingMessage:
    """The MIME message (text and HTML alternatives) as bytes ready for a transport.

    :raises MessageError: when an address cannot be written in a header
    """
    content = mail.newsletter.mail_content(rendered.subject, rendered.text, rendered.html)
    to = _recipient(mail.address)  # a UTF-8 local part is sent with SMTPUTF8 (RFC 6531)
    seed = secrets.token_hex(16)
    template = build_transactional(content, boundary_seed=seed)
    msgid = one_off_message_id(template, "confirm")
    values = {
        Slot.TO: headers.recipient_mailbox("", to),
        Slot.MESSAGE_ID: msgid,
        Slot.DATE: format_date(now),
    }
    return OutgoingMessage(
        delivery_id=_transactional_id(),
        envelope_from=mail.newsletter.from_address,
        recipient=to,
        data=template.fill(values),
        message_id=msgid,
        dot_safe=True,
    )


def send_mails(
    transport_factory: Callable[[], Transport],
    mails: Sequence[ConfirmationMail],
    confirm_max_age: int,
) -> int:
    """Render, build and send ``mails`` through one transport, closed after.

    Failures are logged, never raised: this runs after the visitor got the answer page,
    and a person whose mail did not leave can simply sign up again.

    :returns: how many mails the relay accepted
    """
    if not mails:
        return 0
    try:
        transport = transport_factory()
    except DispatcherError as exc:
        log.error("no transport for %d confirmation mails: %s", len(mails), exc)
        return 0
    try:
        return _deliver(transport, _messages(mails, confirm_max_age, time.time()))
    except DispatcherError as exc:
        log.warning("confirmation mails not sent: %s", exc)
        return 0
    finally:
        transport.close()


def _deliver(transport: Transport, messages: Iterable[OutgoingMessage]) -> int:
    accepted = 0
    for outcome in transport.deliver(messages):
        if outcome.kind is OutcomeKind.DELIVERED:
            accepted += 1
        else:
            log.warning(
                "confirmation mail %s: %s %s", outcome.kind.value, outcome.code, outcome.reply
            )
    return accepted


def _messages(
    mails: Sequence[ConfirmationMail], confirm_max_age: int, now: float
) -> Iterator[OutgoingMessage]:
    for mail in mails:
        try:
            yield build_message(mail, render_mail(mail, confirm_max_age), now)
        except DispatcherError as exc:  # one unusable address must not stop the others
            log.warning("confirmation mail for %s not built: %s", mail.newsletter.slug, exc)


def _transactional_id() -> int:
    # No ledger row stands behind these mails; a negative id can never be taken for one,
    # and a random one keeps the outbox folder's files (named by id) apart.
    return -secrets.randbelow(2**62) - 1


def _recipient(address: str) -> str:
    """The address as the sender writes it: the rule the import and the form apply."""
    try:
        return headers.check_recipient(wire_address(address))
    except InvalidAddressError as exc:
        raise MessageError(f"not a deliverable address: {address[:80]!r}") from exc


def _context(mail: ConfirmationMail, words: dict[str, str]) -> dict[str, Any]:
    return {
        "kind": mail.kind.value,
        "lang": mail.language if mail.language in TEXTS else "it",
        "newsletter": mail.newsletter,
        "colours": mail.newsletter.colours,
        "link": mail.link,
        "t": words,
    }
