"""Our own return addresses: ``b-<token>`` (VERP) and ``u-<token>`` (mailto unsubscribe).

Every message leaves with the envelope sender ``b-<token>@<bounce domain>``,
where the token signs the delivery id (:class:`~subscribers.tokens.Purpose`
``BOUNCE``), and with a ``List-Unsubscribe`` mailto ``u-<token>@<bounce
domain>`` signing the subscriber and list (``UNSUBSCRIBE``). Mail that comes
back to them names the delivery or the subscription, and only we can make a
token that verifies: a forged or altered one, or one made for the other purpose,
is refused here and the message is never acted on.
"""

from __future__ import annotations

import email.utils
import enum
import re
from collections.abc import Collection
from dataclasses import dataclass

from dispatcher.message.personalise import BOUNCE_PREFIX, UNSUBSCRIBE_PREFIX
from subscribers.errors import InvalidTokenError
from subscribers.tokens import Purpose, Signer


class AddressKind(enum.StrEnum):
    BOUNCE = "bounce"  # b-<token>: the VERP return path of one delivery
    UNSUBSCRIBE = "unsubscribe"  # u-<token>: the List-Unsubscribe mailto of one subscription


SHOWN_TOKEN_CHARS = 8  # of a token in logs: enough to tell messages apart, useless to forge
_PREFIXES = {BOUNCE_PREFIX: AddressKind.BOUNCE, UNSUBSCRIBE_PREFIX: AddressKind.UNSUBSCRIBE}
_TOKEN = re.compile(
    rf"(?<![\w-])((?:{BOUNCE_PREFIX}|{UNSUBSCRIBE_PREFIX})[0-9a-f]{{{SHOWN_TOKEN_CHARS}}})[0-9a-f]+",
    re.IGNORECASE,
)


@dataclass(frozen=True)
class OurAddress:
    """An address of ours found in a message or envelope, not yet verified."""

    kind: AddressKind
    token: str
    address: str


@dataclass(frozen=True)
class DeliveryRef:
    """A verified VERP token: the ledger row the returned message is about."""

    delivery_id: int


@dataclass(frozen=True)
class SubscriptionRef:
    """A verified unsubscribe token: one person on one list."""

    subscriber_id: int
    list_id: int


def our_address(address: str, domains: Collection[str] | None) -> OurAddress | None:
    """The address as one of ours, or None when its local part or domain is not ours.

    :param domains: the bounce domains, lower-case; None accepts any domain
    """
    bare = email.utils.parseaddr(address)[1] or address.strip().strip("<>")
    local, at, domain = bare.rpartition("@")
    if not at or (domains is not None and domain.lower() not in domains):
        return None
    # Some relays change the case of local parts; tokens are lower-case hexadecimal.
    lowered = local.lower()
    for prefix, kind in _PREFIXES.items():
        if lowered.startswith(prefix) and len(lowered) > len(prefix):
            return OurAddress(kind, lowered[len(prefix) :], bare)
    return None


def shown(text: str) -> str:
    """``text`` fit for logs: every token of ours in it cut to its first characters.

    A whole token is a credential (a ``u-`` token unsubscribes its person, a
    ``b-`` token lets anyone report their delivery bounced), so logs, replies and
    listings never carry one.
    """
    return _TOKEN.sub(r"\1...", text)


def first_ours(addresses: Collection[str], domains: Collection[str] | None) -> OurAddress | None:
    """The first of ``addresses`` that is one of ours."""
    for address in addresses:
        found = our_address(address, domains)
        if found is not None:
            return found
    return None


def verify(found: OurAddress, signer: Signer) -> DeliveryRef | SubscriptionRef | None:
    """What the address's token names, or None when it does not verify (a forgery)."""
    try:
        if found.kind is AddressKind.BOUNCE:
            (delivery_id,) = signer.verify(Purpose.BOUNCE, found.token, 1)
            return DeliveryRef(delivery_id)
        subscriber_id, list_id = signer.verify(Purpose.UNSUBSCRIBE, found.token, 2)
        return SubscriptionRef(subscriber_id, list_id)
    except InvalidTokenError:
        return None
