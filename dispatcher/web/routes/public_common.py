"""What the public pages share: the committing session, the newsletters, the visitor's IP.

Pages that change something take :data:`WriteSession` rather than ``DbSession``:
FastAPI's default ("request") scope closes a dependency only after the response
has been sent and its background tasks have run, so with ``DbSession`` a page
would say "done" before the commit, and a confirmation mail queued as a background
task would leave before the subscription it confirms exists. The "function"
scope commits when the handler returns, before either.
"""

from __future__ import annotations

import ipaddress
from typing import Annotated, cast

from fastapi import Depends, Request
from fastapi.responses import Response
from sqlalchemy.orm import Session

from dispatcher.editions.newsletter import NewsletterSettings
from dispatcher.web.errors import error_response
from dispatcher.web.ratelimit import Rate, RateLimiter, create_limiter
from dispatcher.web.state import WebState, db_session
from subscribers.models import MailingList
from subscribers.suppression import email_hmac

#: A session whose transaction is committed before the response is sent.
WriteSession = Annotated[Session, Depends(db_session, scope="function")]

#: Pages with a personal link or a form: kept by no cache, their address sent to no other
#: site as a referrer, and shown in no other site's frame (where a button could be clickjacked).
NO_STORE = {
    "Cache-Control": "no-store",
    "Referrer-Policy": "no-referrer",
    "X-Frame-Options": "DENY",
}


def newsletter_of(mailing_list: MailingList) -> NewsletterSettings:
    """The list's newsletter settings.

    :raises EditionFileError: if the stored settings are not valid (a 400 page)
    """
    return NewsletterSettings.from_dict(mailing_list.settings, source=mailing_list.slug)


def client_ip(request: Request) -> str:
    """The visitor's address; behind a proxy, uvicorn's ``--proxy-headers`` sets it."""
    return request.client.host if request.client else "unknown"


def ip_bucket(ip: str) -> str:
    """What the per-IP limits count: the address, or its /64 for IPv6.

    One IPv6 subscriber line usually gets a whole /64, so counting single addresses
    would let one machine post without limit. An IPv4 client of a dual-stack socket
    shows as an IPv4-mapped address (``::ffff:203.0.113.7``): it is counted as the
    IPv4 address it is, or every IPv4 visitor would share the one bucket ``::ffff:0:0/64``.
    """
    try:
        address = ipaddress.ip_address(ip)
    except ValueError:
        return ip
    if address.version == 6 and address.ipv4_mapped is not None:
        return str(address.ipv4_mapped)
    if address.version == 6:
        return str(ipaddress.ip_network(f"{address}/64", strict=False))
    return str(address)


def limiter(state: WebState, name: str, rate: Rate) -> RateLimiter:
    """The app's limiter called ``name``, made on first use (tests may put their own first)."""
    key = f"ratelimit.{name}"
    found = state.extras.get(key)
    if found is None:
        prefix = f"{state.settings.broker_key_prefix}ratelimit:{name}:"
        found = state.extras[key] = create_limiter(rate, state.settings.redis, prefix)
    return cast(RateLimiter, found)


def too_many(request: Request, rate: Rate) -> Response:
    """The 429 page, saying when to come back."""
    response = error_response(request, 429)
    response.headers["Retry-After"] = str(rate.window)
    return response


def mail_allowed(state: WebState, address: str) -> bool:
    """Count one sign-up mail to ``address``; False past ``SIGNUP_MAIL_RATE``.

    Keeps a form, or a preferences link, from being used to flood someone's mailbox.
    Keyed by an HMAC of the address, so no address is written to Redis.
    """
    key = email_hmac(state.settings.secret_key, address)
    return limiter(state, "signup-mail", state.settings.web.signup_mail_rate).hit(key)
