"""The SMTP transport: our own client, pipelined, one outcome per message.

Not smtplib: its dot-stuffing regex costs about 450 µs on a 62 KB message and it
cannot pipeline (see BENCHMARKS.md). Messages arrive dot-safe with
CRLF line ends, so their bytes go out as they are.

With RFC 2920 PIPELINING, as Postfix's own client does, each message costs one
round trip and one write: message k's content and final dot go out in one write
together with message k+1's MAIL FROM, RCPT TO and DATA; the reply to k's dot and
the replies to k+1's envelope come back together. While the relay takes k in,
the messages after it are built, so that once the consumer has recorded k's
outcome, k+1 leaves at once. One write a message means one wake-up of the relay
a message (smtp-sink reads it in one go) and no write of ours waiting for an ACK.

Crash safety (the ordering rule of :mod:`dispatcher.transport.base`): the final
dot of message k+1 is written only after the outcome of message k was yielded
and the consumer asked for more. If the consumer stops instead, no further dot is
written: a connection with a transaction open (an envelope waiting for its
content, or content waiting for its dot) is closed, and RFC 5321 has the relay
drop a transaction whose content never ended; any other connection is left
reusable.
"""

from __future__ import annotations

import logging
import os
import ssl
from collections import deque
from collections.abc import Generator, Iterable, Sequence

from dispatcher.config import SmtpSettings
from dispatcher.errors import ConfigurationError
from dispatcher.message.outgoing import OutgoingMessage
from dispatcher.transport.base import BeforeDot, Outcome, OutcomeKind
from dispatcher.transport.smtp_session import SEND_BUFFER_BYTES, SmtpSession, open_session
from dispatcher.transport.smtp_wire import (
    FINAL_DOT,
    Reply,
    SessionLost,
    check_address,
    envelope_commands,
    wire_content,
)

log = logging.getLogger(__name__)

_RSET = b"RSET\r\n"
_DATA = b"DATA\r\n"
#: Content up to this size goes out in one write with its final dot: the socket's
#: send buffer takes it at once, so the relay cannot speak in between anyway.
ONE_WRITE_MAX = SEND_BUFFER_BYTES // 2


class SmtpTransport:
    """Delivers messages to one SMTP relay over a persistent connection.

    The connection opens on first use (never here: worker processes fork after
    import), stays open across :meth:`deliver` calls, and is replaced after
    ``messages_per_connection`` transactions, after a 421, and after anything
    that leaves the session's state unknown. One instance serves one thread.

    :param settings: the relay's URL (``smtp://`` or ``smtps://``, optional
        ``user:password@``), STARTTLS, timeouts, pipelining
    :param ssl_context: TLS settings for smtps and STARTTLS; the default trusts the
        system's certificate authorities and checks the host name
    :raises ConfigurationError: when the URL is not an SMTP URL or a setting cannot work
    """

    def __init__(
        self, settings: SmtpSettings, *, ssl_context: ssl.SSLContext | None = None
    ) -> None:
        if settings.scheme not in ("smtp", "smtps"):
            raise ConfigurationError("SMTP_URL must start with smtp:// or smtps:// for SMTP")
        if settings.messages_per_connection < 1:
            raise ConfigurationError("SMTP_MESSAGES_PER_CONNECTION must be at least 1")
        if not settings.helo_name.isascii() or any(c in settings.helo_name for c in " \r\n"):
            raise ConfigurationError(f"SMTP_HELO={settings.helo_name!r} is not a host name")
        self._settings = settings
        self._tls = ssl_context
        self._session: SmtpSession | None = None
        #: The next message's outcome, known before its turn (its envelope failed early).
        self._early: tuple[OutgoingMessage, Outcome] | None = None
        self._before_dot: BeforeDot | None = None

    def __repr__(self) -> str:
        # Never the URL: it may carry the password.
        return f"SmtpTransport({self._settings.host}:{self._settings.port})"

    def deliver(
        self, messages: Iterable[OutgoingMessage], before_dot: BeforeDot | None = None
    ) -> Generator[Outcome, None, None]:
        """Send ``messages`` in order and yield one outcome for each, as the relay answers.

        The final dot of a message is written only once the consumer has taken the
        previous outcome and ``before_dot`` has returned; if it stops taking them,
        nothing more is delivered.

        :param messages: one recipient each; taken lazily, one ahead when pipelining
        :returns: a generator of outcomes, in the order of ``messages``
        :raises RelayUnavailableError: when the relay cannot be reached or refuses
            the session (also when reconnecting part-way); the messages whose
            outcomes were not yielded were not delivered
        """
        feed = _Feed(messages)
        self._before_dot = before_dot
        outcomes = self._outcomes(feed)
        while True:
            try:
                outcome = next(outcomes)
            except StopIteration:
                return
            except BaseException:
                if not feed.failed:  # the caller's own errors come between transactions
                    self._discard()  # an error part-way through an exchange: its state is unknown
                raise
            try:
                yield outcome
            except BaseException:
                outcomes.close()
                self._abandon()
                raise

    def close(self) -> None:
        """Say QUIT and close the connection, if one is open."""
        session, self._session = self._session, None
        if session is None:
            return
        if _idle(session) and session.pid == os.getpid():
            session.quit()
        else:
            session.close()

    def _outcomes(self, feed: _Feed) -> Generator[Outcome, None, None]:
        self._early = None
        for message in feed:
            early, self._early = self._early, None
            if early is not None and early[0] is message:
                yield early[1]
                continue
            try:
                commands = _envelope(message, self._smtputf8(message))
            except ValueError as exc:
                yield Outcome(message.delivery_id, OutcomeKind.PERMANENT, 0, str(exc))
                continue
            session = self._session_for(message)
            refusal = None if session.loaded is message else self._start(session, message, commands)
            if refusal is not None:
                yield refusal
            else:
                yield self._finish(session, message, feed)

    def _session_for(self, message: OutgoingMessage) -> SmtpSession:
        """The session to send ``message`` on, opening or replacing it as needed."""
        session = self._session
        if session is not None and (session.in_flight is message or session.loaded is message):
            return session
        if session is not None and not self._reusable(session):
            self.close()
        if self._session is None:
            self._session = open_session(self._settings, self._tls)
        return self._session

    def _reusable(self, session: SmtpSession) -> bool:
        return (
            _idle(session)
            and session.pid == os.getpid()
            and session.transactions < self._settings.messages_per_connection
            # A relay that spoke unasked between transactions has timed us out (421) or closed.
            and not session.has_spoken()
        )

    def _start(
        self, session: SmtpSession, message: OutgoingMessage, commands: tuple[bytes, ...]
    ) -> Outcome | None:
        """Open the transaction; None when the relay waits for the content (354)."""
        staged = session.in_flight is message
        session.in_flight = None
        if not staged and session.needs_reset:
            commands = (_RSET, *commands)
        try:
            if staged:
                replies = self._read_replies(session, len(commands))
            elif self._pipelining(session):
                session.transactions += 1
                session.send(b"".join(commands), self._settings.command_timeout)
                replies = self._read_replies(session, len(commands))
            else:
                session.transactions += 1
                replies = self._lockstep(session, commands)
        except SessionLost as exc:
            self._discard()
            return _outcome(message, OutcomeKind.TEMPORARY, 0, f"{exc.reason} (before DATA)")
        return self._judge_envelope(session, message, commands, replies)

    def _read_replies(self, session: SmtpSession, count: int) -> list[Reply]:
        replies: list[Reply] = []
        while len(replies) < count:
            replies.append(session.read_reply(self._settings.command_timeout))
            if replies[-1].closing:
                break
        return replies

    def _lockstep(self, session: SmtpSession, commands: Sequence[bytes]) -> list[Reply]:
        replies: list[Reply] = []
        for command in commands:
            replies.append(session.command(command, self._settings.command_timeout))
            if not _accepted(command, replies[-1]):
                break
        return replies

    def _judge_envelope(
        self,
        session: SmtpSession,
        message: OutgoingMessage,
        commands: Sequence[bytes],
        replies: Sequence[Reply],
    ) -> Outcome | None:
        refused = [r for c, r in zip(commands, replies, strict=False) if not _accepted(c, r)]
        if not refused:
            session.needs_reset = False
            return None
        reply = refused[0]  # the first refusal is the recipient's own answer (e.g. RCPT 550)
        if reply.closing or _kind(reply) is None or any(r.code == 354 for r in replies):
            # Closing, confused, or waiting for content we will not send: start afresh.
            self._discard()
        else:
            session.needs_reset = True
        return _outcome(message, _kind(reply) or OutcomeKind.TEMPORARY, reply.code, reply.text)

    def _finish(self, session: SmtpSession, message: OutgoingMessage, feed: _Feed) -> Outcome:
        """Send the content and the final dot (with the next envelope), read the verdict."""
        following = self._stage_next(session, feed)
        content = wire_content(message.data, message.dot_safe)
        tail = FINAL_DOT + b"".join(following[1]) if following else FINAL_DOT
        try:
            session.loaded = None
            if len(content) > ONE_WRITE_MAX:
                # More than the socket takes in at once: the relay may speak (and hang
                # up) while it reads, and then must not get the final dot.
                session.send(content, self._settings.data_timeout)
                content = b""
            if self._before_dot is not None:
                self._before_dot()  # the caller's previous record is durable from here on
            if session.has_spoken():
                return self._interrupted(session, message)
            session.send_final(content, tail, self._settings.data_timeout)
        except SessionLost as exc:
            self._discard()
            if exc.after_dot:
                return _outcome(message, OutcomeKind.UNCERTAIN, 0, exc.reason)
            return _outcome(message, OutcomeKind.TEMPORARY, 0, f"{exc.reason} (during DATA)")
        if following:
            session.in_flight = following[0]
            session.transactions += 1
        # The messages after this one are built while the relay takes this one in.
        feed.fill(2 if following else 1)
        outcome = self._verdict(session, message)
        if following and self._session is session:
            self._take_envelope(session, *following)
        return outcome

    def _take_envelope(
        self, session: SmtpSession, message: OutgoingMessage, commands: tuple[bytes, ...]
    ) -> None:
        """Read the replies to the envelope that went out with the final dot.

        Its content waits for the consumer to take the previous outcome: it goes out
        with its own final dot, in one write, and until then the relay has only
        answered DATA (if the connection ends, there is no transaction to drop).
        """
        refusal = self._start(session, message, commands)
        if refusal is not None:
            self._early = (message, refusal)
            return
        session.loaded = message

    def _stage_next(
        self, session: SmtpSession, feed: _Feed
    ) -> tuple[OutgoingMessage, tuple[bytes, ...]] | None:
        """The next message and its envelope, to go out with this final dot, if allowed."""
        if not self._pipelining(session):
            return None
        if session.transactions >= self._settings.messages_per_connection:
            return None
        following = feed.peek()
        if following is None:
            return None
        try:
            return following, _envelope(following, "SMTPUTF8" in session.extensions)
        except ValueError:
            return None  # refused on its own turn, without the relay

    def _verdict(self, session: SmtpSession, message: OutgoingMessage) -> Outcome:
        try:
            reply = session.read_reply(self._settings.final_timeout)
        except SessionLost as exc:
            self._discard()
            reason = f"no reply after the final dot: {exc.reason}"
            return _outcome(message, OutcomeKind.UNCERTAIN, 0, reason)
        kind = OutcomeKind.DELIVERED if reply.positive else _kind(reply)
        if kind is None or reply.closing:
            self._discard()
        return _outcome(message, kind or OutcomeKind.UNCERTAIN, reply.code, reply.text)

    def _interrupted(self, session: SmtpSession, message: OutgoingMessage) -> Outcome:
        """The relay spoke (or hung up) during DATA: the dot is not sent, the session is done."""
        try:
            reply = session.read_reply(self._settings.command_timeout)
        except SessionLost as exc:
            self._discard()
            return _outcome(message, OutcomeKind.TEMPORARY, 0, f"{exc.reason} (during DATA)")
        self._discard()
        return _outcome(message, _kind(reply) or OutcomeKind.TEMPORARY, reply.code, reply.text)

    def _smtputf8(self, message: OutgoingMessage) -> bool:
        """Whether the relay offers SMTPUTF8; asked (and a session opened) for UTF-8 only."""
        utf8 = not message.recipient.isascii()
        return utf8 and "SMTPUTF8" in self._session_for(message).extensions

    def _pipelining(self, session: SmtpSession) -> bool:
        return self._settings.pipelining and "PIPELINING" in session.extensions

    def _discard(self) -> None:
        """Close the connection without a word: its state is unknown or it is closing."""
        session, self._session = self._session, None
        if session is not None:
            log.debug("dropping the connection to %s", session.where)
            session.close()

    def _abandon(self) -> None:
        """The consumer stopped: make sure no pipelined envelope can still get content."""
        self._early = None
        if self._session is not None and not _idle(self._session):
            self._discard()


class _Feed:
    """The caller's messages, with a look at the next one (to pipeline its envelope).

    An error raised while producing the next message is kept until that message's
    turn, so it cannot cost the message being sent; ``failed`` tells it was raised.
    """

    def __init__(self, messages: Iterable[OutgoingMessage]) -> None:
        self._source = iter(messages)
        self._ahead: deque[OutgoingMessage] = deque()
        self._error: Exception | None = None
        self._ended = False
        self.failed = False

    def __iter__(self) -> _Feed:
        return self

    def __next__(self) -> OutgoingMessage:
        if self._ahead:
            return self._ahead.popleft()
        error, self._error = self._error, None
        try:
            if error is not None:
                raise error
            return next(self._source)
        except StopIteration:
            raise
        except Exception:
            self.failed = True
            raise

    def peek(self) -> OutgoingMessage | None:
        self.fill(1)
        return self._ahead[0] if self._ahead else None

    def fill(self, count: int) -> None:
        """Build messages ahead until ``count`` are waiting (or the source ends or fails)."""
        while len(self._ahead) < count and self._error is None and not self._ended:
            try:
                self._ahead.append(next(self._source))
            except StopIteration:
                self._ended = True
            except Exception as exc:  # the caller's own error, re-raised on its turn
                self._error = exc


def _idle(session: SmtpSession) -> bool:
    """Whether the session is between transactions (an RSET may still be owed)."""
    return session.in_flight is None and session.loaded is None


def _envelope(message: OutgoingMessage, smtputf8: bool) -> tuple[bytes, bytes, bytes]:
    """The envelope; SMTPUTF8 declared when the recipient needs it (the To: header too)."""
    sender = check_address(message.envelope_from, "sender")
    recipient = check_address(message.recipient, "recipient", smtputf8)
    return envelope_commands(sender, recipient, smtputf8 and not message.recipient.isascii())


def _accepted(command: bytes, reply: Reply) -> bool:
    return reply.code == 354 if command == _DATA else reply.positive


def _kind(reply: Reply) -> OutcomeKind | None:
    if reply.transient:
        return OutcomeKind.TEMPORARY
    if reply.permanent:
        return OutcomeKind.PERMANENT
    return None


def _outcome(message: OutgoingMessage, kind: OutcomeKind, code: int, reply: str) -> Outcome:
    return Outcome(message.delivery_id, kind, code, reply)
