"""The bounce receiver: an SMTP or LMTP endpoint (aiosmtpd) for the relay's returned mail.

The outgoing relay (Postfix, say) routes our bounce domain here, so the DSNs it
generates, or receives, for the VERP return paths, the feedback reports and
the mailto unsubscribes all arrive over one socket. Replies:

- RCPT: 250 for ``b-...`` and ``u-...`` at our domains (and any extra local
  parts configured, such as a feedback-loop address); 550 for anything else,
  so the relay rejects it and we never become a mailbox for strangers;
- after DATA: 250 once the message is recorded, also when it was ignored
  (auto-reply, forged, unknown) or could not be parsed (see
  :mod:`~dispatcher.bounces.intake`); 451 when the database failed, so the relay
  keeps the message and tries again (recording is idempotent);
- in LMTP one reply per recipient, as RFC 2033 requires; in SMTP the first 451,
  else 250.

Database work runs on one worker thread, message after message: the event
loop keeps answering other connections meanwhile, and no two messages about
the same delivery are ever recorded at once.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Collection
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from aiosmtpd.controller import Controller
from aiosmtpd.lmtp import LMTP
from aiosmtpd.smtp import SMTP

from dispatcher.bounces.intake import BounceProcessor
from dispatcher.bounces.outcome import Outcome
from dispatcher.bounces.verp import our_address

log = logging.getLogger(__name__)

MAX_MESSAGE_BYTES = 10 * 1024 * 1024  # a bounce quotes our message (about 100 KB) at most
TEMPORARY_FAILURE = "451 4.3.0 Temporary failure; please try again later"


class BounceHandler:
    """The aiosmtpd handler: accepts our addresses and records what arrives for them.

    :param local_parts: extra local parts accepted at our domains (e.g. ``fbl``
        for feedback-loop reports), whose messages are judged by content alone
    """

    def __init__(
        self,
        processor: BounceProcessor,
        *,
        lmtp: bool = False,
        local_parts: Collection[str] = (),
    ) -> None:
        self.processor = processor
        self.lmtp = lmtp
        self.local_parts = frozenset(part.lower() for part in local_parts)
        self._worker = ThreadPoolExecutor(max_workers=1, thread_name_prefix="bounces")

    def accepts(self, address: str) -> bool:
        """Whether mail for ``address`` is ours to take."""
        domains = self.processor.domains
        if our_address(address, domains) is not None:
            return True
        local, _, domain = address.lower().rpartition("@")
        return local in self.local_parts and (domains is None or domain in domains)

    async def handle_RCPT(  # noqa: N802 - aiosmtpd's hook name
        self, server: SMTP, session: Any, envelope: Any, address: str, options: list[str]
    ) -> str:
        if not self.accepts(address):
            return f"550 5.1.1 <{address}>: no such address here"
        envelope.rcpt_tos.append(address)
        envelope.rcpt_options.extend(options)
        return "250 2.1.5 OK"

    async def handle_DATA(self, server: SMTP, session: Any, envelope: Any) -> str:  # noqa: N802
        raw = envelope.original_content or b""
        loop = asyncio.get_running_loop()
        replies = [
            await loop.run_in_executor(self._worker, self.reply_for, raw, rcpt)
            for rcpt in envelope.rcpt_tos
        ]
        if self.lmtp:
            return "\r\n".join(replies)
        return next((r for r in replies if r.startswith("4")), replies[0])

    def reply_for(self, raw: bytes, recipient: str) -> str:
        """Process the message for one recipient and say what to answer."""
        try:
            result = self.processor.process(raw, recipient, origin=f"smtp <{recipient}>")
        except Exception:  # the database or a bug: keep the message at the relay, retry later
            log.exception("could not record a message for %s; answered 451", recipient)
            return TEMPORARY_FAILURE
        if result.outcome is Outcome.UNPARSABLE:
            return "250 2.0.0 Accepted, but not understood; the postmaster will look"
        return f"250 2.0.0 Accepted ({result.outcome})"

    def close(self) -> None:
        """Finish the message being recorded, then stop the worker thread."""
        self._worker.shutdown(wait=True)


class _Controller(Controller):
    """aiosmtpd's threaded controller, serving LMTP instead of SMTP when asked."""

    def __init__(self, handler: BounceHandler, host: str, port: int, lmtp: bool) -> None:
        super().__init__(handler, hostname=host, port=port, data_size_limit=MAX_MESSAGE_BYTES)
        self.lmtp = lmtp

    def factory(self) -> SMTP:
        if self.lmtp:
            return LMTP(self.handler, **self.SMTP_kwargs)
        return SMTP(self.handler, **self.SMTP_kwargs)


class BounceServer:
    """The receiver listening on ``host:port`` in a background thread until :meth:`stop`."""

    def __init__(self, handler: BounceHandler, host: str = "127.0.0.1", port: int = 2526) -> None:
        self.handler = handler
        self.host, self.port = host, port
        self._controller = _Controller(handler, host, port, handler.lmtp)

    def start(self) -> BounceServer:
        """Listen; returns when the server answers connections.

        :raises OSError: when the address cannot be bound (in use, not ours)
        """
        self._controller.start()
        return self

    def stop(self) -> None:
        """Stop listening, close connections, and let the message in hand finish."""
        self._controller.stop()
        self.handler.close()

    def __enter__(self) -> BounceServer:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()
