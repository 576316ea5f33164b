"""What one process holds while it works: engine, sessions, transport, templates.

A worker process builds its :class:`Runtime` after the fork (Celery's
``worker_process_init``), so no database connection, Redis client or SMTP
connection is ever shared between processes.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections import OrderedDict
from collections.abc import Callable
from pathlib import Path

from redis import Redis
from sqlalchemy import select
from sqlalchemy.orm import Session

from dispatcher.config import Settings, redact_url
from dispatcher.db import create_db_engine, create_session_factory
from dispatcher.message.dkim import configured_keys
from dispatcher.message.personalise import Personaliser
from dispatcher.models import Send
from dispatcher.sends import journal, recovery
from dispatcher.sends.compose import personaliser_for
from dispatcher.sends.ledger_sink import LedgerSink
from dispatcher.sends.outcomes import open_sink
from dispatcher.sends.ratelimit import Limits, RateLimiter
from dispatcher.transport import create_transport
from dispatcher.transport.base import Transport
from dispatcher.transport.outbox import OutboxTransport
from subscribers.orm import utcnow
from subscribers.tokens import Signer

TEMPLATE_CACHE_SIZE = 8


log = logging.getLogger(__name__)


class Runtime:
    """A process's connections and caches, created lazily and closed together."""

    def __init__(
        self, settings: Settings, transport_factory: Callable[[], Transport] | None = None
    ) -> None:
        self.settings = settings
        self.engine = create_db_engine(settings.database_url)
        self.sessions = create_session_factory(self.engine)
        self.signer = Signer(settings.all_secret_keys)
        self._transport_factory = transport_factory or (lambda: create_transport(settings.smtp))
        self._transport: Transport | None = None
        self._sink: LedgerSink | None = None
        self._limiter: RateLimiter | None = None
        self._personalisers: OrderedDict[int, Personaliser] = OrderedDict()
        # Per send: the dry run's own outbox, or None for the production transport.
        self._outboxes: OrderedDict[int, OutboxTransport | None] = OrderedDict()
        self.dkim_keys = configured_keys(settings.dkim)
        if not self.dkim_keys and (settings.smtp.url or "").startswith(("smtp://", "smtps://")):
            log.warning(
                "DKIM is not configured: every message to %s goes out UNSIGNED, which Gmail"
                " and Yahoo refuse of bulk senders (set DKIM_DOMAIN, DKIM_SELECTOR and"
                " DKIM_KEY_FILE)",
                redact_url(settings.smtp.url or ""),
            )
        #: The time used for leases, backoffs and due dates (tests move it forward).
        self.clock: Callable[[], dt.datetime] = utcnow
        self.journal_dir = Path(settings.sending.journal_dir)
        self._database = journal.fingerprint(settings.database_url)

    @property
    def transport(self) -> Transport:
        if self._transport is None:
            self._transport = self._transport_factory()
        return self._transport

    def transport_for(self, session: Session, send_id: int) -> Transport:
        """The transport of send ``send_id``: the production one, or for a dry run an
        outbox in the send's own folder that counts nothing as delivered.

        The answer is kept per send, so a batch after the first costs a dict lookup.
        """
        if send_id not in self._outboxes:
            folder = session.scalar(select(Send.outbox_dir).where(Send.id == send_id))
            outbox = OutboxTransport(Path(folder)) if folder else None
            self._outboxes[send_id] = outbox
            if len(self._outboxes) > TEMPLATE_CACHE_SIZE:
                self._outboxes.popitem(last=False)
        return self._outboxes[send_id] or self.transport

    @property
    def rate_limiter(self) -> RateLimiter | None:
        """The shared sending limits, when there is a Redis to keep them in."""
        url = self.settings.redis
        if url is None:
            return None
        if self._limiter is None:
            sending = self.settings.sending
            defaults = Limits(sending.rate_per_second or None, sending.rate_per_hour or None)
            self._limiter = RateLimiter(
                Redis.from_url(url), self.settings.broker_key_prefix, defaults
            )
        return self._limiter

    @property
    def ledger_sink(self) -> LedgerSink:
        """The connection outcomes are written on, kept for the life of the process."""
        if self._sink is None:
            self._sink = open_sink(self.engine, self.settings.sending)
        return self._sink

    def open_journal(self, owner: str) -> journal.Journal:
        """A new outcome journal for a claim by ``owner``."""
        return journal.Journal(self.journal_dir, owner, self._database)

    def recover_orphans(self) -> int:
        """Fold the journals of this machine's dead processes and take back their claims."""
        return recovery.recover_orphans(
            self.sessions, self.journal_dir, self._database, self.settings.sending, self.clock
        )

    def drop_ledger_sink(self) -> None:
        """Forget the outcome connection (after an error: the next batch opens a new one)."""
        if self._sink is not None:
            try:
                self._sink.close()
            finally:
                self._sink = None

    def personaliser(self, session: Session, send_id: int) -> Personaliser:
        """The send's personaliser, built on first use and kept for the next batches."""
        cached = self._personalisers.get(send_id)
        if cached is None:
            cached = personaliser_for(session, send_id, self.settings, self.signer, self.dkim_keys)
            self._personalisers[send_id] = cached
            if len(self._personalisers) > TEMPLATE_CACHE_SIZE:
                self._personalisers.popitem(last=False)
        self._personalisers.move_to_end(send_id)
        return cached

    def close(self) -> None:
        self.drop_ledger_sink()
        if self._transport is not None:
            self._transport.close()
            self._transport = None
        self.engine.dispose()
