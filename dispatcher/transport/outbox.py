"""The outbox transport: one ``.eml`` file per message in a folder.

Chosen explicitly (``SMTP_URL=file:///path``) for the demo and for dry runs; it is
never a silent fallback for a missing relay. Each file is named by its delivery id
and appears whole or not at all (written to a temporary name, then renamed), with
the message's CRLF line ends kept as they are.

A file in a folder reaches nobody: unless the outbox was chosen as the production
transport (``OUTBOX_IS_DELIVERY=1``, as the demo does), the batch loop records what
it wrote as ``skipped``, never as delivered (:func:`counts_as_delivery`), so the
edition has not "been received" and a real send later reaches everyone.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Generator, Iterable
from pathlib import Path

from dispatcher.errors import RelayUnavailableError
from dispatcher.message.outgoing import OutgoingMessage
from dispatcher.transport.base import BeforeDot, Outcome, OutcomeKind


class OutboxTransport:
    """Writes each message to ``<folder>/<delivery_id>.eml`` and reports it delivered.

    :param folder: where the files go; created (with its parents) on first use
    :param is_delivery: whether a file written counts as delivered to its recipient
        (the outbox is the production transport: ``OUTBOX_IS_DELIVERY``)
    """

    def __init__(self, folder: Path, *, is_delivery: bool = False) -> None:
        self.folder = Path(folder)
        self.is_delivery = is_delivery

    def __repr__(self) -> str:
        return f"OutboxTransport({str(self.folder)!r}, is_delivery={self.is_delivery})"

    def deliver(
        self, messages: Iterable[OutgoingMessage], before_dot: BeforeDot | None = None
    ) -> Generator[Outcome, None, None]:
        """Write each message and yield a DELIVERED outcome (code 250) naming its file.

        A message sent again (a retry) replaces its earlier file.

        :param messages: the messages, in order
        :returns: a generator of one outcome per message
        :raises RelayUnavailableError: when the folder cannot be created or written;
            the message concerned and the ones after it were not written
        """
        for message in messages:
            if before_dot is not None:
                before_dot()
            path = self._write(message)
            yield Outcome(message.delivery_id, OutcomeKind.DELIVERED, 250, f"2.0.0 Ok: {path}")

    def close(self) -> None:
        """Nothing to close: files are complete when :meth:`deliver` yields."""

    def _write(self, message: OutgoingMessage) -> Path:
        target = self.folder / f"{message.delivery_id}.eml"
        try:
            self.folder.mkdir(parents=True, exist_ok=True)
            handle, temporary = tempfile.mkstemp(dir=self.folder, prefix=".", suffix=".tmp")
            try:
                with os.fdopen(handle, "wb") as file:
                    file.write(message.data)
                os.replace(temporary, target)
            except BaseException:
                os.unlink(temporary)
                raise
        except OSError as exc:
            reason = f"cannot write to the outbox {self.folder}: {exc}"
            raise RelayUnavailableError(0, reason) from exc
        return target


def counts_as_delivery(transport: object) -> bool:
    """Whether a message ``transport`` accepted reached its recipient: any transport but
    an outbox that is not the production one."""
    return not isinstance(transport, OutboxTransport) or transport.is_delivery
