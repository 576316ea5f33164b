"""``/iscriviti``: the sign-up form, double opt-in, and the same answer for everyone.

Whatever the address (new, pending, confirmed, suppressed), a valid form gets the
same page, so the form tells nobody who is subscribed. What the form carries is
kept as a sign-up request and applied only when its own confirmation link is used
(:func:`subscribers.consent.request_signup`): typing someone's address changes
nothing of theirs. A new or pending person gets
a confirmation mail; a confirmed one gets a short note with their preferences link
(so someone who forgot they are subscribed is not left waiting). Mails are sent
after the commit and after the answer went out (a background task), so the answer
does not take longer when a mail is written, and a failed mail is only logged.

Abuse: a per-IP limit on posts (429), a per-address limit on mails (the page is the
same, the mail is just not sent again), a honeypot field that only robots fill in
(answered exactly like a success, with nothing done) and a signed, timed form token.
Visitors have no cookie here, so SameSite cannot help; the token makes a post from
another site's page fail unless that site first fetched our form, which a browser
will not let it read. It is not tied to a session: it stops drive-by posts that
would spread abuse over visitors' IP addresses and put their address in the consent
record, not a determined script (the rate limits are for that).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Annotated

from fastapi import APIRouter, BackgroundTasks, Form, Request
from fastapi.responses import Response
from itsdangerous import BadSignature, URLSafeTimedSerializer
from sqlalchemy.orm import Session

from dispatcher.office.confirmation import (
    ConfirmationMail,
    MailKind,
    confirm_url,
    preferences_url,
    send_mails,
)
from dispatcher.web.i18n import choose_language
from dispatcher.web.routes.public_common import (
    NO_STORE,
    WriteSession,
    client_ip,
    ip_bucket,
    limiter,
    mail_allowed,
    newsletter_of,
    too_many,
)
from dispatcher.web.routes.public_prefs import newsletter_sections
from dispatcher.web.routes.public_privacy import notice
from dispatcher.web.state import DbSession, State, WebState
from dispatcher.web.templating import render
from subscribers.addresses import normalise
from subscribers.consent import Signup, request_signup
from subscribers.errors import InvalidAddressError
from subscribers.models import MailingList
from subscribers.service import newsletter_lists

FORM_SALT = "signup-form"
MAX_FIELD = 1000  # characters; longer fields are refused (400) before any work
HONEYPOT = "sito_web"  # a name robots like to fill in

router = APIRouter(include_in_schema=False)


@dataclass
class SignupForm:
    """What the visitor typed and chose, kept to show the form again with errors."""

    email: str = ""
    name: str = ""
    lists: set[str] = field(default_factory=set)
    consent: bool = False
    sections: set[str] = field(default_factory=set)  # optional: the newsletters' sections


@router.get("/iscriviti")
def signup_page(
    request: Request, session: DbSession, state: State, lista: str | None = None
) -> Response:
    offered = newsletter_lists(session)
    chosen = {lista} if lista else {offered[0].slug} if len(offered) == 1 else set()
    return _form_page(request, session, state, offered, SignupForm(lists=chosen), {})


@router.post("/iscriviti")
def signup(
    request: Request,
    session: WriteSession,
    state: State,
    background: BackgroundTasks,
    email: Annotated[str, Form(max_length=MAX_FIELD)] = "",
    name: Annotated[str, Form(max_length=MAX_FIELD)] = "",
    lists: Annotated[list[str] | None, Form()] = None,
    sections: Annotated[list[str] | None, Form()] = None,
    consent: Annotated[str, Form(max_length=10)] = "",
    privacy_version: Annotated[str, Form(max_length=64)] = "",
    form_token: Annotated[str, Form(max_length=MAX_FIELD)] = "",  # nosec B107 - not a password
    honeypot: Annotated[str, Form(alias=HONEYPOT, max_length=MAX_FIELD)] = "",
) -> Response:
    rate = state.settings.web.signup_rate
    if not limiter(state, "signup", rate).hit(ip_bucket(client_ip(request))):
        return too_many(request, rate)
    if honeypot.strip():
        return _done_page(request)  # a robot: nothing done, and it cannot tell
    form = SignupForm(email.strip(), name.strip(), set(lists or ()), consent == "yes")
    form.sections = set(sections or ())
    offered = newsletter_lists(session)
    errors = _problems(state, form, offered, privacy_version, form_token)
    if errors:
        return _form_page(request, session, state, offered, form, errors, status_code=400)
    chosen = [mailing_list for mailing_list in offered if mailing_list.slug in form.lists]
    mails = _sign_up(session, state, request, form, chosen)
    confirm_max_age = state.settings.web.confirm_max_age
    background.add_task(send_mails, state.transport_factory, mails, confirm_max_age)
    return _done_page(request)


def _problems(
    state: WebState,
    form: SignupForm,
    offered: list[MailingList],
    privacy_version: str,
    form_token: str,
) -> dict[str, str]:
    """Field name to the key of its error message; ``form`` for the whole form.

    A valid address is written back to ``form.email`` in normal form.
    """
    errors: dict[str, str] = {}
    if not form.email:
        errors["email"] = "signup.error.email_missing"
    else:
        try:
            form.email = normalise(form.email)
        except InvalidAddressError:
            errors["email"] = "signup.error.email_invalid"
    if not form.lists & {mailing_list.slug for mailing_list in offered}:
        errors["lists"] = "signup.error.lists"
    if privacy_version != state.settings.web.privacy_version:
        errors["consent"] = "signup.error.privacy_changed"
    elif not form.consent:
        errors["consent"] = "signup.error.consent"
    if not _form_token_ok(state, form_token):
        errors["form"] = "signup.error.expired"
    return errors


def _sign_up(
    session: Session,
    state: WebState,
    request: Request,
    form: SignupForm,
    chosen: list[MailingList],
) -> list[ConfirmationMail]:
    """Record the sign-up requests; the mails to send, unless this address had many lately."""
    language = choose_language(request)
    signups = [
        request_signup(
            session,
            mailing_list.id,
            form.email,
            form.name,
            ip=client_ip(request),
            privacy_version=state.settings.web.privacy_version,
            language=language,
            max_age=state.settings.web.confirm_max_age,
            sections=_sections_of(session, mailing_list, form.sections),
        )
        for mailing_list in chosen
    ]
    if not mail_allowed(state, form.email):
        return []
    return [
        _mail(state, signup, mailing_list, language)
        for signup, mailing_list in zip(signups, chosen, strict=True)
    ]


def _sections_of(session: Session, mailing_list: MailingList, ticked: set[str]) -> list[str]:
    """The ticked sections that are the newsletter's own (the request keeps only those)."""
    own = {m.slug: group for m, group in newsletter_sections(session)}.get(mailing_list.slug, ())
    return sorted(ticked & {section.slug for section in own})


def _mail(
    state: WebState, signup: Signup, mailing_list: MailingList, language: str
) -> ConfirmationMail:
    public_url = state.settings.public_url
    subscription = signup.subscription
    if signup.request is None:  # already confirmed: nothing to confirm, nothing was kept
        kind = MailKind.ALREADY
        link = preferences_url(public_url, state.signer, subscription.subscriber_id)
    else:
        kind = MailKind.CONFIRM
        link = confirm_url(public_url, state.signer, signup.request.id)
    address = subscription.subscriber.email
    return ConfirmationMail(kind, address, language, newsletter_of(mailing_list), link)


def _serializer(state: WebState) -> URLSafeTimedSerializer:
    # itsdangerous signs with the last key and accepts any: ours are listed current first.
    keys = list(reversed(state.settings.all_secret_keys))
    return URLSafeTimedSerializer(keys, salt=FORM_SALT)


def _form_token_ok(state: WebState, token: str) -> bool:
    try:
        _serializer(state).loads(token, max_age=state.settings.web.signup_form_max_age)
    except BadSignature:
        return False
    return True


def _form_page(
    request: Request,
    session: Session,
    state: WebState,
    offered: list[MailingList],
    form: SignupForm,
    errors: dict[str, str],
    status_code: int = 200,
) -> Response:
    context = {
        "newsletters": offered,
        "section_groups": [
            (m.name, [(s.slug, s.label(choose_language(request))) for s in group])
            for m, group in newsletter_sections(session)
        ],
        "form": form,
        "errors": errors,
        "form_token": _serializer(state).dumps("signup"),
        "privacy_version": state.settings.web.privacy_version,
        "notice": notice(choose_language(request)),
        "honeypot": HONEYPOT,
    }
    return render(request, "public/signup.html", context, status_code=status_code, headers=NO_STORE)


def _done_page(request: Request) -> Response:
    return render(request, "public/signup_done.html")
