"""DKIM signing in front of another transport, for the one-off mails.

Newsletters are signed in the worker while the previous message is in flight (see
:class:`~dispatcher.message.personalise.Personaliser`); confirmation mails and proofs
are built one at a time by the web app and go through this wrapper instead, so that
every message the dispatcher sends carries the same signatures.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Generator, Iterable, Sequence

from dispatcher.message.dkim import DkimKey, sign_all
from dispatcher.message.outgoing import OutgoingMessage
from dispatcher.transport.base import BeforeDot, Outcome, Transport


class SigningTransport:
    """Signs each message with every key, then hands it to ``inner``."""

    def __init__(self, inner: Transport, keys: Sequence[DkimKey]) -> None:
        self._inner = inner
        self._keys = tuple(keys)

    def deliver(
        self, messages: Iterable[OutgoingMessage], before_dot: BeforeDot | None = None
    ) -> Generator[Outcome, None, None]:
        signed = (dataclasses.replace(m, data=sign_all(m.data, self._keys)) for m in messages)
        return self._inner.deliver(signed, before_dot)

    def close(self) -> None:
        self._inner.close()


def signing_factory(
    factory: Callable[[], Transport], keys: Sequence[DkimKey]
) -> Callable[[], Transport]:
    """``factory``, its transports wrapped to sign with ``keys`` (unchanged without keys)."""
    if not keys:
        return factory
    return lambda: SigningTransport(factory(), keys)
