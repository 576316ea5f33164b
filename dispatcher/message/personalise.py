"""Per-recipient values: tokens, the VERP return path, To and Message-ID.

Pure: it signs with :class:`subscribers.tokens.Signer` and fills a
:class:`~dispatcher.message.template.MessageTemplate`; no database or network.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from dispatcher.errors import MessageError
from dispatcher.message import dkim, headers
from dispatcher.message.dkim import DkimKey
from dispatcher.message.outgoing import OutgoingMessage
from dispatcher.message.slots import Slot
from dispatcher.message.template import LEGACY_MESSAGE_KEY, MessageTemplate, message_id
from subscribers.addresses import wire_address
from subscribers.errors import InvalidAddressError
from subscribers.tokens import Purpose, Signer

BOUNCE_PREFIX = "b-"  # VERP local part: b-<token naming the delivery>
UNSUBSCRIBE_PREFIX = "u-"  # mailto unsubscribe local part: u-<unsubscribe token>


@dataclass(frozen=True, slots=True)
class Recipient:
    """One ledger row's person, as the worker read it."""

    delivery_id: int
    subscriber_id: int
    list_id: int
    email: str
    name: str
    variant: str | None = None  # the edition variant's key; None: the send's one template


class Personaliser:
    """Fills one send's template for each of its recipients.

    A send whose edition has variants (languages, sections) has one template per
    variant, each built once; the recipient's variant picks it.
    """

    def __init__(
        self,
        template: MessageTemplate,
        signer: Signer,
        send_id: int,
        bounce_domain: str,
        redirect_to: str | None = None,
        dkim_keys: Sequence[DkimKey] = (),
        message_key: str = LEGACY_MESSAGE_KEY,
        variants: Mapping[str, MessageTemplate] | None = None,
    ) -> None:
        self._template = template
        self._variants = dict(variants or {})
        self._signer = signer
        self._send_id = send_id
        self._bounce_domain = bounce_domain
        self._redirect_to = redirect_to
        self._dkim_keys = tuple(dkim_keys)
        self._message_key = message_key

    def message(self, recipient: Recipient, date: str) -> OutgoingMessage:
        """The filled message for ``recipient``, with ``date`` as its Date header.

        :raises MessageError: when the recipient's address or name cannot be written safely
        """
        msgid = message_id(self._template, recipient.delivery_id, self._send_id, self._message_key)
        try:  # the one rule, as at import: an address stored before it is converted here
            address = wire_address(recipient.email)
        except InvalidAddressError as exc:
            raise MessageError(f"not a deliverable address: {recipient.email[:80]!r}") from exc
        template = self._template
        if recipient.variant is not None:
            found = self._variants.get(recipient.variant)
            if found is None:
                raise MessageError(f"no message built for edition variant {recipient.variant!r}")
            template = found
        data = template.fill(
            {
                Slot.TO: headers.recipient_mailbox(recipient.name, address),
                Slot.MESSAGE_ID: msgid,
                Slot.DATE: date,
                Slot.UNSUBSCRIBE_TOKEN: self.unsubscribe_token(recipient),
                Slot.PREFERENCES_TOKEN: self._signer.sign(
                    Purpose.PREFERENCES, recipient.subscriber_id
                ),
            }
        )
        data = dkim.sign_all(data, self._dkim_keys)
        return OutgoingMessage(
            delivery_id=recipient.delivery_id,
            envelope_from=self.return_path(recipient.delivery_id),
            recipient=self._redirect_to or address,
            data=data,
            message_id=msgid,
            dot_safe=True,
        )

    def unsubscribe_token(self, recipient: Recipient) -> str:
        return self._signer.sign(Purpose.UNSUBSCRIBE, recipient.subscriber_id, recipient.list_id)

    def return_path(self, delivery_id: int) -> str:
        """The VERP envelope sender: bounces to it name the delivery, and forgeries fail."""
        token = self._signer.sign(Purpose.BOUNCE, delivery_id)
        return f"{BOUNCE_PREFIX}{token}@{self._bounce_domain}"
