"""``/conferma/<token>``: the double opt-in link from the confirmation mail.

Following the link confirms nothing: mail scanners and link previews open every
link in a message, so the page only shows a button, and the button's POST
confirms. The POST needs no cookie or login; the token in its address is the proof
(an 80-bit tag, signed for this person and list, valid ``CONFIRM_MAX_AGE``),
which another site cannot guess, so no CSRF token is needed either.
"""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import Response

from dispatcher.office.confirmation import preferences_url
from dispatcher.web.i18n import add_texts
from dispatcher.web.routes.public_common import NO_STORE, WriteSession
from dispatcher.web.state import DbSession, State, WebState
from dispatcher.web.templating import render
from subscribers.consent import confirm, find_subscription
from subscribers.errors import SubscriptionStateError, UnknownSubscriberError
from subscribers.models import MailingList
from subscribers.orm import SubscriptionStatus
from subscribers.service import get_list_by_id
from subscribers.tokens import Purpose

router = APIRouter(include_in_schema=False)

_CONFIRMABLE = (SubscriptionStatus.PENDING, SubscriptionStatus.CONFIRMED)

add_texts(
    {
        "it": {
            "confirm.title": "Conferma l'iscrizione",
            "confirm.question": "Vuoi ricevere {name}?",
            "confirm.explain": "Premi il pulsante per confermare l'iscrizione.",
            "confirm.submit": "Conferma l'iscrizione",
            "confirmed.title": "Iscrizione confermata",
            "confirmed.thanks": "Grazie! Da ora riceverai {name}.",
            "confirmed.already": "L'iscrizione a {name} è già confermata.",
            "confirmed.preferences": "Cambia le preferenze",
            "confirm.stale_title": "Questa richiesta non è più valida",
            "confirm.stale": "L'iscrizione è stata annullata dopo la richiesta. "
            "Se vuoi ricevere la newsletter, iscriviti di nuovo.",
        },
        "en": {
            "confirm.title": "Confirm your subscription",
            "confirm.question": "Do you want to receive {name}?",
            "confirm.explain": "Press the button to confirm your subscription.",
            "confirm.submit": "Confirm my subscription",
            "confirmed.title": "Subscription confirmed",
            "confirmed.thanks": "Thank you! From now on you will receive {name}.",
            "confirmed.already": "Your subscription to {name} is already confirmed.",
            "confirmed.preferences": "Change your preferences",
            "confirm.stale_title": "This request is no longer valid",
            "confirm.stale": "The subscription was cancelled after the request. "
            "If you want to receive the newsletter, please subscribe again.",
        },
    }
)


@router.get("/conferma/{token}")
def confirm_page(request: Request, token: str, session: DbSession, state: State) -> Response:
    subscriber_id, list_id = _verify(state, token)
    mailing_list = get_list_by_id(session, list_id)
    subscription = find_subscription(session, subscriber_id, list_id)
    if subscription is None or subscription.status not in _CONFIRMABLE:
        return _stale_page(request, mailing_list)
    if subscription.status == SubscriptionStatus.CONFIRMED:
        return _confirmed_page(request, state, mailing_list, subscriber_id, already=True)
    context = {"newsletter": mailing_list, "token": token}
    return render(request, "public/confirm.html", context, headers=NO_STORE)


@router.post("/conferma/{token}")
def confirm_post(request: Request, token: str, session: WriteSession, state: State) -> Response:
    subscriber_id, list_id = _verify(state, token)
    mailing_list = get_list_by_id(session, list_id)
    try:
        confirm(session, state.settings.all_secret_keys, subscriber_id, list_id)
    except (SubscriptionStateError, UnknownSubscriberError):
        return _stale_page(request, mailing_list)
    return _confirmed_page(request, state, mailing_list, subscriber_id, already=False)


def _verify(state: WebState, token: str) -> tuple[int, int]:
    """:raises InvalidTokenError: forged, altered, expired or for another purpose (400)"""
    subscriber_id, list_id = state.signer.verify_expiring(
        Purpose.CONFIRM, token, 2, state.settings.web.confirm_max_age
    )
    return subscriber_id, list_id


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
