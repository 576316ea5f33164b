"""The transport port: deliver messages, get one outcome per recipient.

Transports take an iterable of ready-made messages and yield one :class:`Outcome`
per message, in order, as the relay answers. The caller records each outcome before
asking for the next one; a transport must not finish the next message (the final
dot of DATA) before the caller has taken the previous outcome, so that a worker that
dies leaves at most the message in flight in doubt.
"""

from __future__ import annotations

import enum
from collections.abc import Callable, Generator, Iterable
from dataclasses import dataclass
from typing import Protocol

from dispatcher.message.outgoing import OutgoingMessage


class OutcomeKind(enum.Enum):
    """How one message fared at the relay."""

    DELIVERED = "delivered"  # 2xx after the final dot
    TEMPORARY = "temporary"  # 4xx, or connection lost before the final dot: not delivered
    PERMANENT = "permanent"  # 5xx: refused for good
    UNCERTAIN = "uncertain"  # no reply after the final dot: may have been delivered


@dataclass(frozen=True, slots=True)
class Outcome:
    """What the relay answered for one message.

    :param delivery_id: the ledger row
    :param kind: the class of the answer
    :param code: SMTP reply code (0 when there was none)
    :param reply: reply text (with enhanced status code and queue id when given)
    """

    delivery_id: int
    kind: OutcomeKind
    code: int
    reply: str


#: Called before a message is finished; see :meth:`Transport.deliver`.
BeforeDot = Callable[[], None]


class Transport(Protocol):
    """Delivers messages and reports one outcome for each."""

    def deliver(
        self, messages: Iterable[OutgoingMessage], before_dot: BeforeDot | None = None
    ) -> Generator[Outcome, None, None]:
        """Send ``messages`` in order and yield an outcome for each, as it is known.

        A generator, so that the caller can ``close()`` it: no further message is
        finished after that.

        :param before_dot: called right before each message is finished (its final
            dot written); the caller waits there for the previous outcome's record to
            be durable, so that this wait overlaps with preparing the message. If it
            raises, the message is not finished and the exception comes out of the
            generator.

        :raises RelayUnavailableError: before any outcome is yielded for the current
            message, when the relay cannot be reached or refuses the session (421);
            the messages not yet yielded were not sent.
        """
        ...

    def close(self) -> None:
        """Close any open connection (QUIT when possible)."""
        ...
