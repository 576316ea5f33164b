"""One SMTP connection: open it, greet, secure, authenticate, then move bytes.

:func:`open_session` does everything up to the first MAIL FROM and turns every way
that can fail into :class:`~dispatcher.errors.RelayUnavailableError`. After that,
:class:`SmtpSession` only writes bytes and reads replies, raising
:class:`~dispatcher.transport.smtp_wire.SessionLost` when the connection can no
longer be trusted; what that means for a message is the transport's business.
"""

from __future__ import annotations

import base64
import logging
import os
import select
import socket
import ssl
import time

from dispatcher.config import SmtpSettings
from dispatcher.errors import RelayUnavailableError
from dispatcher.message.outgoing import OutgoingMessage
from dispatcher.transport.smtp_wire import (
    FINAL_DOT,
    MAX_REPLY_LINE,
    Reply,
    SessionLost,
    join_reply,
    parse_ehlo,
    parse_reply_line,
)

log = logging.getLogger(__name__)

_RECV_SIZE = 65536
_QUIT_TIMEOUT = 5.0  # seconds: a polite goodbye is not worth waiting for longer


class SmtpSession:
    """An open SMTP connection and what the transport knows about its state.

    :param sock: the connected socket (TLS-wrapped for smtps)
    :param where: ``host:port``, for messages
    """

    def __init__(self, sock: socket.socket, where: str) -> None:
        self.where = where
        self.extensions: dict[str, str] = {}
        #: MAIL FROM commands sent on this connection (for messages_per_connection).
        self.transactions = 0
        #: The message whose MAIL/RCPT/DATA went out with the previous final dot, replies unread.
        self.in_flight: OutgoingMessage | None = None
        #: The message whose envelope the relay accepted (354): its content and final dot
        #: wait for the consumer to take the previous outcome.
        self.loaded: OutgoingMessage | None = None
        #: An envelope was refused part-way, so the next transaction starts with RSET.
        self.needs_reset = False
        self.pid = os.getpid()
        self._buffer = bytearray()
        self._timeout: float | None = None
        self._attach(sock)

    def _attach(self, sock: socket.socket) -> None:
        self._sock = sock
        self._scatter = not isinstance(sock, ssl.SSLSocket)  # no sendmsg over TLS
        self._poller = select.poll()
        self._poller.register(sock, select.POLLIN)

    def send(self, data: bytes, timeout: float) -> None:
        """Write all of ``data`` within ``timeout`` seconds.

        :raises SessionLost: when the connection fails or the time runs out
        """
        self._set_timeout(timeout)
        try:
            self._sock.sendall(data)
        except OSError as exc:
            raise SessionLost(f"writing to the relay failed: {describe(exc, timeout)}") from exc

    def send_final(self, content: bytes, tail: bytes, timeout: float) -> None:
        """Write ``content`` and ``tail``, which starts with the final dot, in one go.

        One ``sendmsg`` of both buffers, not a copy: the relay is woken once per message.

        :raises SessionLost: with ``after_dot`` set when all of the content and the
            whole final dot were handed to the network before the failure
        """
        self._set_timeout(timeout)
        dot_end = len(content) + len(FINAL_DOT)
        total = len(content) + len(tail)
        sent = 0
        try:
            if self._scatter:
                sent = self._sock.sendmsg([content, tail])
            if sent < total:  # TLS, or the rest of a partial write: as one buffer
                rest = memoryview(content + tail)
                while sent < total:
                    sent += self._sock.send(rest[sent:])
        except OSError as exc:
            reason = f"writing the final dot failed: {describe(exc, timeout)}"
            raise SessionLost(reason, after_dot=sent >= dot_end) from exc

    def read_reply(self, timeout: float) -> Reply:
        """Read one whole reply, all of its lines.

        :raises SessionLost: when the connection closes, the time runs out or the reply is garbled
        """
        self._set_timeout(timeout)
        code, texts = 0, []
        while True:
            line_code, more, text = parse_reply_line(self._read_line(timeout))
            code = code or line_code
            texts.append(text)
            if not more:
                return join_reply(code, texts)

    def command(self, line: bytes, timeout: float) -> Reply:
        """Send one command line and read its reply."""
        self.send(line, timeout)
        return self.read_reply(timeout)

    def has_spoken(self) -> bool:
        """Whether the relay sent something (or closed) that nobody asked for yet."""
        return bool(self._buffer) or bool(self._poller.poll(0))

    def quit(self) -> None:
        """Say QUIT, wait briefly for the goodbye, and close."""
        try:
            self.command(b"QUIT\r\n", _QUIT_TIMEOUT)
        except SessionLost:
            pass  # the relay may already be gone; there is nothing left to tell it
        self.close()

    def close(self) -> None:
        """Close the socket without a word (abandons any transaction in progress)."""
        try:
            self._sock.close()
        except OSError:
            pass

    def _read_line(self, timeout: float) -> bytes:
        while True:
            end = self._buffer.find(b"\n")
            if end >= 0:
                line = bytes(self._buffer[: end + 1])
                del self._buffer[: end + 1]
                return line
            if len(self._buffer) > MAX_REPLY_LINE:
                raise SessionLost("the relay sent a reply line that is too long")
            self._buffer += self._recv(timeout)

    def _recv(self, timeout: float) -> bytes:
        try:
            chunk = self._sock.recv(_RECV_SIZE)
        except OSError as exc:
            raise SessionLost(f"reading from the relay failed: {describe(exc, timeout)}") from exc
        if not chunk:
            raise SessionLost("the relay closed the connection")
        return chunk

    def _set_timeout(self, timeout: float) -> None:
        if timeout != self._timeout:
            self._sock.settimeout(timeout)
            self._timeout = timeout

    def start_tls(self, context: ssl.SSLContext, host: str, timeout: float) -> None:
        """Switch this connection to TLS after a 220 reply to STARTTLS.

        :raises RelayUnavailableError: when the relay sent more than its reply
            (RFC 3207 5: such bytes could have been injected) or the handshake fails
        """
        if self._buffer:
            raise RelayUnavailableError(0, f"{self.where}: the relay sent data after STARTTLS")
        self._set_timeout(timeout)
        try:
            self._attach(context.wrap_socket(self._sock, server_hostname=host))
        except OSError as exc:
            raise RelayUnavailableError(0, f"{self.where}: TLS failed: {exc}") from exc
        self.extensions = {}


def describe(exc: OSError, timeout: float) -> str:
    """Words for a socket error, fit for a delivery's reply column."""
    if isinstance(exc, TimeoutError):
        return f"no answer within {timeout:.3g} s"
    if isinstance(exc, ConnectionRefusedError):
        return "connection refused"
    if isinstance(exc, socket.gaierror):
        return f"unknown host ({exc.strerror})"
    return exc.strerror or str(exc) or type(exc).__name__


def open_session(settings: SmtpSettings, tls: ssl.SSLContext | None) -> SmtpSession:
    """Connect, read the greeting, say EHLO, and do STARTTLS and AUTH as configured.

    :param settings: where the relay is, and how to talk to it
    :param tls: the TLS context for smtps and STARTTLS (default: system trust store)
    :returns: a session ready for MAIL FROM
    :raises RelayUnavailableError: when any of it fails; the reply says what and where
    """
    deadline = time.monotonic() + settings.connect_timeout
    session = SmtpSession(_connect(settings, tls), f"{settings.host}:{settings.port}")
    try:
        greeting = session.read_reply(max(deadline - time.monotonic(), 0.001))
        if greeting.code != 220:
            raise RelayUnavailableError(greeting.code, greeting.text)
        _hello(session, settings)
        if settings.starttls:
            _starttls(session, settings, tls or ssl.create_default_context())
        if settings.username is not None:
            _authenticate(session, settings)
    except SessionLost as exc:
        session.close()
        raise RelayUnavailableError(0, f"{session.where}: {exc.reason}") from exc
    except BaseException:
        session.close()
        raise
    log.debug("connected to %s, extensions %s", session.where, sorted(session.extensions))
    return session


SEND_BUFFER_BYTES = 1 << 20


def _connect(settings: SmtpSettings, tls: ssl.SSLContext | None) -> socket.socket:
    where = f"{settings.host}:{settings.port}"
    timeout = settings.connect_timeout
    try:
        sock = socket.create_connection((settings.host, settings.port), timeout=timeout)
    except OSError as exc:
        raise RelayUnavailableError(0, f"{where}: {describe(exc, timeout)}") from exc
    # Commands are small writes right after large ones: Nagle would hold them for an ACK.
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    # Room for a whole message or two in the kernel: the next message's content is
    # written while the caller records the previous outcome, and that write should
    # return at once rather than wait for the relay to read it (the overlap is the point).
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, SEND_BUFFER_BYTES)
    if settings.scheme != "smtps":
        return sock
    try:
        return (tls or ssl.create_default_context()).wrap_socket(
            sock, server_hostname=settings.host
        )
    except OSError as exc:
        sock.close()
        raise RelayUnavailableError(0, f"{where}: TLS failed: {describe(exc, timeout)}") from exc


def _hello(session: SmtpSession, settings: SmtpSettings) -> None:
    name = settings.helo_name.encode("ascii")
    reply = session.command(b"EHLO " + name + b"\r\n", settings.command_timeout)
    if reply.permanent:
        # RFC 5321 3.2: a server that does not know EHLO answers 5xx; HELO gives no extensions.
        reply = session.command(b"HELO " + name + b"\r\n", settings.command_timeout)
        session.extensions = {}
    elif reply.positive:
        session.extensions = parse_ehlo(reply)
    if not reply.positive:
        raise RelayUnavailableError(reply.code, reply.text)


def _starttls(session: SmtpSession, settings: SmtpSettings, context: ssl.SSLContext) -> None:
    if "STARTTLS" not in session.extensions:
        raise RelayUnavailableError(
            0, f"{session.where}: the relay does not offer STARTTLS, which SMTP_STARTTLS requires"
        )
    reply = session.command(b"STARTTLS\r\n", settings.command_timeout)
    if reply.code != 220:
        raise RelayUnavailableError(reply.code, reply.text)
    session.start_tls(context, settings.host, settings.connect_timeout)
    # RFC 3207 4.2: forget what the server said before TLS and ask again.
    _hello(session, settings)


def _authenticate(session: SmtpSession, settings: SmtpSettings) -> None:
    user = (settings.username or "").encode("utf-8")
    secret = (settings.password or "").encode("utf-8")
    mechanisms = session.extensions.get("AUTH", "").upper().split()
    timeout = settings.command_timeout
    if "PLAIN" in mechanisms:
        token = base64.b64encode(b"\0" + user + b"\0" + secret)
        reply = session.command(b"AUTH PLAIN " + token + b"\r\n", timeout)
    elif "LOGIN" in mechanisms:
        reply = session.command(b"AUTH LOGIN\r\n", timeout)
        for answer in (user, secret):
            if reply.code != 334:
                break
            reply = session.command(base64.b64encode(answer) + b"\r\n", timeout)
    else:
        raise RelayUnavailableError(
            0, f"{session.where}: SMTP_URL has credentials but the relay offers no AUTH PLAIN/LOGIN"
        )
    if reply.code != 235:
        raise RelayUnavailableError(reply.code, reply.text)
