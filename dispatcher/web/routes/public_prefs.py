"""``/p/<token>``: a person's preferences, from the link in every edition.

The page lists the newsletters (each one on or off), the sections the person wants
(read from each newsletter's settings: they decide which articles of an edition the
person receives) and the language. Turning a newsletter off unsubscribes
(``how="preferences"``).
Turning one on is new consent, and is handled like the sign-up form: the
subscription becomes pending and a confirmation mail goes to the address. The
token proves only that its holder has one of the person's mails, and mails get
forwarded; only a click in the mailbox itself confirms a subscription.

The page shows the address masked (``m•••@example.org``) and never the name: a
forwarded mail's reader can reach this page too.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated

from fastapi import APIRouter, BackgroundTasks, Form, Request
from fastapi.responses import Response
from sqlalchemy.orm import Session

from dispatcher.editions.newsletter import NewsletterSettings, Section
from dispatcher.office.confirmation import ConfirmationMail, MailKind, confirm_url, send_mails
from dispatcher.web.i18n import DEFAULT_LANGUAGE, LANGUAGES, choose_language
from dispatcher.web.routes.public_common import (
    NO_STORE,
    WriteSession,
    client_ip,
    mail_allowed,
    newsletter_of,
)
from dispatcher.web.state import DbSession, State, WebState, web_state
from dispatcher.web.templating import render
from subscribers.attributes import sections
from subscribers.consent import ACTIVE_STATUSES, choose_lists, set_preferences
from subscribers.errors import InvalidTokenError
from subscribers.models import MailingList, SignupRequest, Subscriber
from subscribers.service import get_subscriber, newsletter_lists
from subscribers.tokens import Purpose

router = APIRouter(include_in_schema=False)


@dataclass(frozen=True)
class ListChoice:
    """One newsletter on the page, and where the person stands with it."""

    slug: str
    name: str
    status: str | None  # the subscription's status, None if never subscribed

    @property
    def chosen(self) -> bool:
        return self.status in ACTIVE_STATUSES


@router.get("/p/{token}")
def preferences_page(request: Request, token: str, session: DbSession, state: State) -> Response:
    subscriber = _subscriber(session, state, token)
    return _page(request, session, subscriber, token, saved=False, confirming=[])


@router.post("/p/{token}")
def save_preferences(
    request: Request,
    token: str,
    session: WriteSession,
    state: State,
    background: BackgroundTasks,
    lists: Annotated[list[str] | None, Form()] = None,
    chosen_sections: Annotated[list[str] | None, Form(alias="sections")] = None,
    language: Annotated[str, Form(max_length=8)] = "",
) -> Response:
    subscriber = _subscriber(session, state, token)
    wanted = set(lists or ())
    started = choose_lists(
        session,
        subscriber,
        newsletter_lists(session),
        wanted,
        ip=client_ip(request),
        privacy_version=state.settings.web.privacy_version,
        max_age=state.settings.web.confirm_max_age,
    )
    # Only the sections a newsletter defines can be chosen (and kept).
    allowed = {section.slug for _, group in newsletter_sections(session) for section in group}
    chosen = set(chosen_sections or ()) & allowed
    set_preferences(session, subscriber, chosen, language if language in LANGUAGES else None)
    if started and not mail_allowed(state, subscriber.email):
        started = []  # requests kept all the same: the address had enough mail from us lately
    mails = [_confirmation(state, subscriber, signup) for signup in started]
    confirm_max_age = state.settings.web.confirm_max_age
    background.add_task(send_mails, state.transport_factory, mails, confirm_max_age)
    confirming = [signup.mailing_list for signup in started]
    return _page(request, session, subscriber, token, saved=True, confirming=confirming)


def _subscriber(session: Session, state: WebState, token: str) -> Subscriber:
    """:raises InvalidTokenError: for a bad token, or a person who was erased (400)"""
    (subscriber_id,) = state.signer.verify(Purpose.PREFERENCES, token, 1)
    subscriber = get_subscriber(session, subscriber_id)
    if subscriber is None or subscriber.erased_at is not None:
        raise InvalidTokenError("nobody to show preferences for")
    return subscriber


def _confirmation(
    state: WebState, subscriber: Subscriber, signup: SignupRequest
) -> ConfirmationMail:
    link = confirm_url(state.settings.public_url, state.signer, signup.id)
    language = subscriber.language if subscriber.language in LANGUAGES else DEFAULT_LANGUAGE
    return ConfirmationMail(
        MailKind.CONFIRM, subscriber.email, language, newsletter_of(signup.mailing_list), link
    )


def _page(
    request: Request,
    session: Session,
    subscriber: Subscriber,
    token: str,
    *,
    saved: bool,
    confirming: list[MailingList],
) -> Response:
    statuses = {s.list_id: s.status for s in subscriber.subscriptions}
    choices = [ListChoice(m.slug, m.name, statuses.get(m.id)) for m in newsletter_lists(session)]
    language = choose_language(request)
    context = {
        "token": token,
        "address": masked(subscriber.email),
        "choices": choices,
        "section_groups": [
            (m.name, [(s.slug, s.label(language)) for s in group])
            for m, group in newsletter_sections(session)
        ],
        "chosen_sections": set(sections(subscriber)),
        "email_language": subscriber.language,
        "privacy_version": web_state(request).settings.web.privacy_version,
        "saved": saved,
        "confirming": ", ".join(m.name for m in confirming),
    }
    return render(request, "public/preferences.html", context, headers=NO_STORE)


def newsletter_sections(session: Session) -> list[tuple[MailingList, tuple[Section, ...]]]:
    """Each newsletter that is divided into sections, with its sections (from its settings)."""
    found = []
    for mailing_list in newsletter_lists(session):
        group = NewsletterSettings.from_dict(mailing_list.settings).sections
        if group:
            found.append((mailing_list, group))
    return found


def masked(address: str) -> str:
    """``mario.rossi@example.org`` as ``m•••@example.org``."""
    local, _, domain = address.rpartition("@")
    return f"{local[:1]}•••@{domain}"
