"""The bounce receiver: an SMTP or LMTP endpoint (aiosmtpd) for the relay's returned mail.

The outgoing relay (Postfix, say) routes our bounce domain here, so the DSNs it
generates, or receives, for the VERP return paths, the feedback reports and
the mailto unsubscribes all arrive over one socket. Replies:

- RCPT: 250 for ``b-...`` and ``u-...`` at our domains whose token verifies
  (checked here, before the data is taken: a forged or altered token gets 550);
  250 for ``postmaster`` (with or without our domain, as RFC 5321 requires)
  and ``abuse`` at our domains, whose mail is kept in a folder for a person
  (:mod:`~dispatcher.bounces.mailfolder`), or 452 while that folder is over
  its quota, so the sender's server keeps the message and retries; 250 for any
  extra local parts configured (a feedback-loop address); 550 for anything
  else, so the relay rejects it and we never become a mailbox for strangers;
- after DATA: 250 once the message is recorded or kept, also when it was
  ignored (auto-reply, unknown) or could not be parsed (see
  :mod:`~dispatcher.bounces.intake`); 451 when the database or the disk failed,
  so the relay keeps the message and tries again (recording is idempotent);
- in LMTP one reply per recipient, as RFC 2033 requires; in SMTP the first 451,
  else 250.

Database work runs on one worker thread, message after message: the event
loop keeps answering other connections meanwhile, and no two messages about
the same delivery are ever recorded at once.

Tokens are credentials (see :func:`~dispatcher.bounces.verp.shown`): logs and
replies carry only their first characters.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Collection, Mapping
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from aiosmtpd.controller import Controller
from aiosmtpd.lmtp import LMTP
from aiosmtpd.smtp import SMTP

from dispatcher.bounces.intake import BounceProcessor
from dispatcher.bounces.mailfolder import MailFolder
from dispatcher.bounces.outcome import Outcome
from dispatcher.bounces.verp import our_address, shown, verify

log = logging.getLogger(__name__)

MAX_MESSAGE_BYTES = 10 * 1024 * 1024  # a bounce quotes our message (about 100 KB) at most
TEMPORARY_FAILURE = "451 4.3.0 Temporary failure; please try again later"
MAILBOX_FULL = "452 4.2.2 Mailbox full; please try again later"
#: Local parts that people write to, kept for a person rather than read by a program.
PEOPLE = ("postmaster", "abuse")


class BounceHandler:
    """The aiosmtpd handler: accepts our addresses and records what arrives for them.

    :param local_parts: extra local parts accepted at our domains (e.g. ``fbl``
        for feedback-loop reports), whose messages are judged by content alone
    :param people: the folders for ``postmaster`` and ``abuse`` (see :data:`PEOPLE`);
        a local part without a folder is refused like a stranger's
    """

    def __init__(
        self,
        processor: BounceProcessor,
        *,
        lmtp: bool = False,
        local_parts: Collection[str] = (),
        people: Mapping[str, MailFolder] | None = None,
    ) -> None:
        self.processor = processor
        self.lmtp = lmtp
        self.local_parts = frozenset(part.lower() for part in local_parts)
        self.people = dict(people or {})
        self._worker = ThreadPoolExecutor(max_workers=1, thread_name_prefix="bounces")

    def rcpt_reply(self, address: str) -> str:
        """What to answer to ``RCPT TO:<address>``: 250, 452 (a full folder) or 550."""
        domains = self.processor.domains
        folder = self.folder_for(address)
        if folder is not None:
            return "250 2.1.5 OK" if folder.has_room() else MAILBOX_FULL
        found = our_address(address, domains)
        if found is not None:
            if verify(found, self.processor.signer) is not None:
                return "250 2.1.5 OK"
            log.warning("refused a forged %s address: %s", found.kind, shown(found.address))
            return f"550 5.7.1 <{shown(address)}>: this address is not valid"
        local, _, domain = address.lower().rpartition("@")
        if local in self.local_parts and (domains is None or domain in domains):
            return "250 2.1.5 OK"
        return f"550 5.1.1 <{shown(address)}>: no such address here"

    def folder_for(self, address: str) -> MailFolder | None:
        """The people's folder ``address`` goes to, or None when it is not one of theirs."""
        local, at, domain = address.lower().rpartition("@")
        if not at:  # RFC 5321 section 4.5.1: "postmaster" without a domain must be accepted
            return self.people.get("postmaster") if domain == "postmaster" else None
        domains = self.processor.domains
        if domains is not None and domain not in domains:
            return None
        return self.people.get(local)

    async def handle_RCPT(  # noqa: N802 - aiosmtpd's hook name
        self, server: SMTP, session: Any, envelope: Any, address: str, options: list[str]
    ) -> str:
        reply = self.rcpt_reply(address)
        if reply.startswith("250"):
            envelope.rcpt_tos.append(address)
            envelope.rcpt_options.extend(options)
        return reply

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
        """Process (or keep, for a person) the message for one recipient; say what to answer."""
        folder = self.folder_for(recipient)
        try:
            if folder is not None:
                return self._keep_for_people(folder, raw, recipient)
            result = self.processor.process(raw, recipient, origin=f"smtp <{shown(recipient)}>")
        except Exception:  # the database, the disk or a bug: the relay keeps it and retries
            log.exception("could not record a message for %s; answered 451", shown(recipient))
            return TEMPORARY_FAILURE
        if result.outcome is Outcome.UNPARSABLE:
            return "250 2.0.0 Accepted, but not understood; the postmaster will look"
        return f"250 2.0.0 Accepted ({result.outcome})"

    def _keep_for_people(self, folder: MailFolder, raw: bytes, recipient: str) -> str:
        path = folder.keep(raw)
        if path is None:  # filled up since RCPT: the sender's server tries again later
            log.warning("%s is full: answered 452 for mail to %s", folder.path, recipient)
            return MAILBOX_FULL
        log.info("mail to %s kept as %s", recipient, path)
        return "250 2.0.0 Kept for the postmaster"

    def close(self) -> None:
        """Finish the message being recorded, then stop the worker thread."""
        self._worker.shutdown(wait=True)


class HideTokens(logging.Filter):
    """Cuts our tokens in aiosmtpd's log lines: it logs every command, RCPT TO included."""

    def filter(self, record: logging.LogRecord) -> bool:
        text = record.getMessage()
        hidden = shown(text)
        if hidden != text:
            record.msg, record.args = hidden, ()
        return True


_HIDE_TOKENS = HideTokens()


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
        logging.getLogger("mail.log").addFilter(_HIDE_TOKENS)  # once: the same filter object
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
