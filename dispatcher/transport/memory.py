"""The in-memory transport, for tests: keeps what it was given, answers as told.

Like ``httpx.MockTransport``: by default every message is delivered; a
``responder`` decides the answer per message, and may raise
:class:`~dispatcher.errors.RelayUnavailableError` to play a relay that is down.
"""

from __future__ import annotations

from collections.abc import Callable, Generator, Iterable

from dispatcher.errors import RelayUnavailableError
from dispatcher.message.outgoing import OutgoingMessage
from dispatcher.transport.base import BeforeDot, Outcome, OutcomeKind

#: Answers one message with an SMTP code and text; code 0 means no reply after the dot.
Responder = Callable[[OutgoingMessage], tuple[int, str]]


def accept_all(message: OutgoingMessage) -> tuple[int, str]:
    """The default responder: 250 with a queue id made from the delivery id."""
    return 250, f"2.0.0 Ok: queued as MEM{message.delivery_id}"


class MemoryTransport:
    """Records messages in :attr:`sent` instead of sending them.

    :param responder: answers each message; 2xx is DELIVERED, 4xx TEMPORARY, 5xx
        PERMANENT, 0 UNCERTAIN (the relay took it but the reply was lost, so it is
        also kept in :attr:`sent`); raising RelayUnavailableError from it makes
        :meth:`deliver` raise before that message's outcome, as the SMTP transport does
    """

    def __init__(self, responder: Responder | None = None) -> None:
        self.responder: Responder = responder or accept_all
        #: Messages the fake relay took (DELIVERED or UNCERTAIN), in order.
        self.sent: list[OutgoingMessage] = []
        #: Every outcome yielded, in order.
        self.outcomes: list[Outcome] = []
        #: When set, every :meth:`deliver` raises it before its first outcome.
        self.unavailable: RelayUnavailableError | None = None
        self.closed = False

    def deliver(
        self, messages: Iterable[OutgoingMessage], before_dot: BeforeDot | None = None
    ) -> Generator[Outcome, None, None]:
        """Answer each message through the responder and yield its outcome.

        :param messages: the messages, in order
        :param before_dot: called before each message is "finished"
        :returns: a generator of one outcome per message
        :raises RelayUnavailableError: when :attr:`unavailable` is set or the responder raises it
        """
        for message in messages:
            if self.unavailable is not None:
                raise self.unavailable
            if before_dot is not None:
                before_dot()
            outcome = self._answer(message)
            self.outcomes.append(outcome)
            yield outcome

    def close(self) -> None:
        """Mark the transport closed (a later :meth:`deliver` still works, like a reconnect)."""
        self.closed = True

    def _answer(self, message: OutgoingMessage) -> Outcome:
        code, reply = self.responder(message)
        kind = _kind(code)
        if kind in (OutcomeKind.DELIVERED, OutcomeKind.UNCERTAIN):
            self.sent.append(message)
        return Outcome(message.delivery_id, kind, code, reply)


def _kind(code: int) -> OutcomeKind:
    if code == 0:
        return OutcomeKind.UNCERTAIN
    if 200 <= code < 300:
        return OutcomeKind.DELIVERED
    if 400 <= code < 500:
        return OutcomeKind.TEMPORARY
    if 500 <= code < 600:
        return OutcomeKind.PERMANENT
    raise ValueError(f"MemoryTransport responder gave code {code}: use 0, 2xx, 4xx or 5xx")
