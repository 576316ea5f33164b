"""``/conferma/<token>``: the double opt-in link from the confirmation mail.

Following the link confirms nothing: mail scanners and link previews open every
link in a message, so the page only shows a button, and the button's POST
confirms. The POST needs no cookie or login; the token in its address is the proof
(an 80-bit tag, signed for one sign-up request, valid ``CONFIRM_MAX_AGE``),
which another site cannot guess, so no CSRF token is needed either.

The link confirms the request it was mailed for and applies that request's data
(name, language, consent record), never a later one's: someone who types the
address into the form again cannot change what the owner's old link does. Links
mailed before requests were kept name the person and list (``Purpose.CONFIRM``):
they confirm the subscription and apply nothing.
"""

from __future__ import annotations

from dataclasses import dataclass

from fastapi import APIRouter, Request
from fastapi.responses import Response
from sqlalchemy.orm import Session

from dispatcher.office.confirmation import preferences_url
from dispatcher.web.routes.public_common import NO_STORE, WriteSession, client_ip
from dispatcher.web.state import DbSession, State, WebState
from dispatcher.web.templating import render
from subscribers.consent import (
    changed_since,
    confirm,
    confirm_request,
    find_request,
    find_subscription,
)
from subscribers.errors import InvalidTokenError, SubscriptionStateError, UnknownSubscriberError
from subscribers.models import MailingList, SignupRequest, Subscription
from subscribers.orm import SubscriptionStatus
from subscribers.service import get_list_by_id
from subscribers.tokens import Purpose

router = APIRouter(include_in_schema=False)


@dataclass(frozen=True)
class Link:
    """What a confirmation link acts on."""

    subscriber_id: int
    list_id: int
    request: SignupRequest | None  # None for a link mailed before requests were kept


@router.get("/conferma/{token}")
def confirm_page(request: Request, token: str, session: DbSession, state: State) -> Response:
    link = _link(session, state, token)
    mailing_list = get_list_by_id(session, link.list_id)
    subscription = find_subscription(session, link.subscriber_id, link.list_id)
    if subscription is not None and subscription.status == SubscriptionStatus.CONFIRMED:
        return _confirmed_page(request, state, mailing_list, link.subscriber_id, already=True)
    if _stale(subscription, link.request):
        return _stale_page(request, mailing_list)
    name = link.request.name if link.request else ""
    context = {"newsletter": mailing_list, "token": token, "name": name}
    return render(request, "public/confirm.html", context, headers=NO_STORE)


@router.post("/conferma/{token}")
def confirm_post(request: Request, token: str, session: WriteSession, state: State) -> Response:
    link = _link(session, state, token)
    mailing_list = get_list_by_id(session, link.list_id)
    keys = state.settings.all_secret_keys
    try:
        if link.request is not None:
            confirm_request(session, keys, link.request.id, ip=client_ip(request))
        else:
            confirm(
                session,
                keys,
                link.subscriber_id,
                link.list_id,
                source="form",
                ip=client_ip(request),
            )
    except (SubscriptionStateError, UnknownSubscriberError):
        return _stale_page(request, mailing_list)
    return _confirmed_page(request, state, mailing_list, link.subscriber_id, already=False)


def _link(session: Session, state: WebState, token: str) -> Link:
    """:raises InvalidTokenError: forged, altered, expired, for another purpose, or for a
    request no longer kept (400)"""
    max_age = state.settings.web.confirm_max_age
    try:
        (request_id,) = state.signer.verify_expiring(Purpose.SIGNUP, token, 1, max_age)
    except InvalidTokenError as exc:
        try:
            subscriber_id, list_id = state.signer.verify_expiring(
                Purpose.CONFIRM, token, 2, max_age
            )
        except InvalidTokenError:
            raise exc from None
        return Link(subscriber_id, list_id, None)
    found = find_request(session, request_id)
    if found is None:
        raise InvalidTokenError("this request is no longer kept")
    return Link(found.subscriber_id, found.list_id, found)


def _stale(subscription: Subscription | None, signup: SignupRequest | None) -> bool:
    """Whether the link can no longer confirm (the person left the list since, say)."""
    if subscription is None:
        return True
    if signup is None:
        return subscription.status != SubscriptionStatus.PENDING
    return changed_since(subscription, signup)


def _confirmed_page(
    request: Request, state: WebState, mailing_list: MailingList, subscriber_id: int, already: bool
) -> Response:
    context = {
        "newsletter": mailing_list,
        "already": already,
        # The token proved the address: the preferences link is the one every edition carries.
        "preferences": preferences_url("", state.signer, subscriber_id),
    }
    return render(request, "public/confirmed.html", context, headers=NO_STORE)


def _stale_page(request: Request, mailing_list: MailingList) -> Response:
    context = {"newsletter": mailing_list}
    return render(request, "public/confirm_stale.html", context, status_code=400)
