"""Proofs: an edition mailed to a few named addresses before it goes to subscribers.

A proof is the very message subscribers would get, with ``[BOZZA]`` before the
subject, sent straight through a transport to any address the office types (they
need not be subscribers). It is not a send: no ledger rows, no batches, nothing
in the figures; the audit log keeps who sent which proof to whom.

Each proof gets its own Message-ID, so mail clients do not fold a second proof
into the first; its return path is the newsletter's From address, because the
bounce processor could only match a bounce to a delivery, and a proof has none.
"""

from __future__ import annotations

import re
import time
from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy.orm import Session

from dispatcher.config import Settings
from dispatcher.errors import ContentError, DeliveryError
from dispatcher.message import headers
from dispatcher.message.outgoing import OutgoingMessage
from dispatcher.message.slots import Slot
from dispatcher.message.template import (
    MessageTemplate,
    build_template,
    format_date,
    one_off_message_id,
)
from dispatcher.office.edition_store import get_edition, newsletter_of
from dispatcher.office.users import audit
from dispatcher.sends.compose import message_content
from dispatcher.transport.base import OutcomeKind, Transport
from subscribers.addresses import normalise
from subscribers.errors import InvalidAddressError
from subscribers.tokens import Purpose, Signer

PROOF_PREFIX = "[BOZZA] "
MAX_PROOF_ADDRESSES = 10  # a proof is for the office, not a way round the ledger


class ProofError(ContentError):
    """The proof's addresses cannot be used; the message says which and why."""


@dataclass(frozen=True)
class ProofResult:
    """What the relay answered for one proof."""

    address: str
    delivered: bool
    code: int
    reply: str


def parse_addresses(text: str) -> list[str]:
    """The addresses in ``text``, separated by commas, semicolons, spaces or lines.

    :raises ProofError: if there is none, too many, or one is not valid
    """
    found = [part for part in re.split(r"[\s,;]+", text) if part]
    if not found:
        raise ProofError("give at least one address for the proof").coded("proof.no_address")
    if len(found) > MAX_PROOF_ADDRESSES:
        raise ProofError(f"a proof goes to at most {MAX_PROOF_ADDRESSES} addresses").coded(
            "proof.too_many", max=MAX_PROOF_ADDRESSES
        )
    addresses = []
    for raw in found:
        try:
            addresses.append(normalise(raw))
        except InvalidAddressError as exc:
            raise ProofError(f"{raw}: {exc}").coded("proof.bad_address", address=raw) from exc
    return list(dict.fromkeys(addresses))


def send_proof(
    session: Session,
    edition_id: int,
    addresses: Sequence[str],
    transport: Transport,
    settings: Settings,
    signer: Signer,
    actor: str,
) -> list[ProofResult]:
    """Mail a proof of an edition to ``addresses`` through ``transport`` (closed after).

    :raises NotFoundError: if there is no such edition
    :raises ContentError: if the newsletter has no usable settings
    :raises MessageError: if an address cannot be written in a header
    """
    edition = get_edition(session, edition_id)
    mailing_list, newsletter = newsletter_of(session, edition)
    content = message_content(
        edition, newsletter, settings, mailing_list.slug, None, subject_prefix=PROOF_PREFIX
    )
    template = build_template(content, boundary_seed=edition.compiled_hash)
    tokens = _sample_tokens(signer, mailing_list.id)
    messages = [
        _proof_message(template, index, address, newsletter.from_address, tokens, settings)
        for index, address in enumerate(addresses)
    ]
    results = _deliver(transport, messages, list(addresses))
    detail = {"results": [{"to": r.address, "code": r.code, "reply": r.reply} for r in results]}
    audit(session, actor, "edition.proof", "edition", edition_id, **detail)
    return results


def _sample_tokens(signer: Signer, list_id: int) -> dict[Slot, str]:
    # Subscriber 0 does not exist: the proof's unsubscribe link changes nobody's subscription.
    return {
        Slot.UNSUBSCRIBE_TOKEN: signer.sign(Purpose.UNSUBSCRIBE, 0, list_id),
        Slot.PREFERENCES_TOKEN: signer.sign(Purpose.PREFERENCES, 0),
    }


def _proof_message(
    template: MessageTemplate,
    index: int,
    address: str,
    return_path: str,
    tokens: dict[Slot, str],
    settings: Settings,
) -> OutgoingMessage:
    msgid = one_off_message_id(template, "proof")
    values = {
        **tokens,
        Slot.TO: headers.mailbox("", address),
        Slot.MESSAGE_ID: msgid,
        Slot.DATE: format_date(time.time()),
    }
    return OutgoingMessage(
        delivery_id=index,  # only to match outcomes to addresses: no ledger row
        envelope_from=return_path,
        recipient=settings.sending.redirect_all_to or address,
        data=template.fill(values),
        message_id=msgid,
        dot_safe=True,
    )


def _deliver(
    transport: Transport, messages: list[OutgoingMessage], addresses: list[str]
) -> list[ProofResult]:
    answers: dict[int, ProofResult] = {}
    try:
        for outcome in transport.deliver(messages):
            delivered = outcome.kind is OutcomeKind.DELIVERED
            address = addresses[outcome.delivery_id]
            answers[outcome.delivery_id] = ProofResult(
                address, delivered, outcome.code, outcome.reply
            )
    except DeliveryError as exc:
        # The relay is down: the proofs without an answer were not sent.
        for index, address in enumerate(addresses):
            answers.setdefault(index, ProofResult(address, False, exc.code, exc.reply))
    finally:
        transport.close()
    return [answers[i] for i in range(len(addresses)) if i in answers]
