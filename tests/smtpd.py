"""A programmable SMTP server for tests: real sockets on 127.0.0.1, faults on demand.

It runs an asyncio loop in a background thread, listens on a free port, keeps what it
receives, and can be told to misbehave in ways aiosmtpd cannot (drop the connection
in the middle of DATA, keep silent after the final dot)::

    with SmtpServer(pipelining=True) as server:
        server.fail_rcpt("x@example.org", [451, 250])   # first attempt 451, then accepted
        server.drop("content", "y@example.org")          # hang up in the middle of DATA
        server.delay("dot", 5.0, 3)                      # the 3rd message's verdict comes late
        ... SmtpSettings(url=server.url) ...
        assert server.wait_for(2)
        [m.reply for m in server.accepted]

A fault is chosen by ``match``: ``None`` (any), an ``int`` (the n-th MAIL FROM since
start or :meth:`SmtpServer.reset`, 1-based; for ``connect`` and ``ehlo`` the n-th
connection) or a ``str`` (the sender at ``mail``, a recipient at later phases).
Each fault holds a list of actions used one per matching event, then it is spent.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import socket
import ssl
import threading
from collections import deque
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Literal

Phase = Literal["connect", "ehlo", "mail", "rcpt", "data", "content", "dot"]
Match = int | str | None


@dataclass(frozen=True)
class Delay:
    """Answer as usual, but only after ``seconds``."""

    seconds: float


#: What to do for one event: a reply code (or code and text; codes below 400 mean
#: "as usual"), None for as usual, "drop" to hang up without a word, or a Delay.
Action = int | tuple[int, str] | None | Literal["drop"] | Delay


class _Closed(Exception):
    """The client hung up, or a fault hangs up on it."""


@dataclass(frozen=True)
class Received:
    """One message whose content arrived in full, and what the server answered."""

    mail_from: str
    rcpt_tos: tuple[str, ...]
    data: bytes | None  # None when the server was started with keep_data=False
    size: int
    code: int  # the reply to the final dot; 0 when the plan said to hang up instead
    reply: str
    connection: int  # which connection (1-based) it came on
    tls: bool
    auth_user: str | None

    @property
    def accepted(self) -> bool:
        return 200 <= self.code < 300


@dataclass
class _Fault:
    phase: Phase
    match: Match
    actions: deque[Action] = field(default_factory=deque)


class SmtpServer:
    """An SMTP server on 127.0.0.1 with a free port, for one test or a whole session.

    :param pipelining: advertise RFC 2920 PIPELINING (without it, commands sent
        before their turn are counted in :attr:`pipelining_violations`)
    :param keep_data: keep each message's bytes (off for runs of many thousands)
    :param starttls: offer STARTTLS with this server-side context
    :param implicit_tls: speak TLS from the first byte (smtps) with this context
    :param users: user name to password, for AUTH PLAIN and LOGIN
    :param require_auth: refuse MAIL FROM (530) before a successful AUTH
    """

    host = "127.0.0.1"

    def __init__(
        self,
        *,
        pipelining: bool = True,
        keep_data: bool = True,
        starttls: ssl.SSLContext | None = None,
        implicit_tls: ssl.SSLContext | None = None,
        users: Mapping[str, str] | None = None,
        require_auth: bool = False,
    ) -> None:
        self.pipelining, self.keep_data = pipelining, keep_data
        self.starttls, self.implicit_tls = starttls, implicit_tls
        self.users, self.require_auth = dict(users or {}), require_auth
        self.port = 0
        self._lock = threading.Condition()
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, daemon=True)
        self._server: asyncio.Server | None = None
        self._tasks: dict[asyncio.Task[None], asyncio.StreamWriter] = {}
        self.reset()

    @property
    def url(self) -> str:
        return f"{'smtps' if self.implicit_tls else 'smtp'}://{self.host}:{self.port}"

    def start(self) -> SmtpServer:
        """Listen on a free port and serve in a background thread."""
        self._thread.start()
        self._server = asyncio.run_coroutine_threadsafe(self._listen(), self._loop).result(10)
        self.port = self._server.sockets[0].getsockname()[1]
        return self

    def stop(self) -> None:
        """Stop listening, cut every connection and end the thread."""
        if self._thread.is_alive():
            asyncio.run_coroutine_threadsafe(self._shutdown(), self._loop).result(10)
            self._loop.call_soon_threadsafe(self._loop.stop)
            self._thread.join(10)
        self._loop.close()

    def __enter__(self) -> SmtpServer:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    def reset(self) -> None:
        """Forget received messages, counters and faults."""
        with self._lock:
            self._messages: list[Received] = []
            self._faults: list[_Fault] = []
            self.connections = 0
            self.transactions = 0
            self.pipelined_commands = 0  # commands that arrived before the previous reply went out
            self.pipelining_violations = 0  # ... while PIPELINING was not advertised
            self.commands: list[tuple[int, str]] = []  # (connection, verb) in arrival order

    @property
    def open_connections(self) -> int:
        """Connections the server is serving right now."""
        return len(self._tasks)

    @property
    def messages(self) -> list[Received]:
        """Every message whose content arrived in full, whatever the reply."""
        with self._lock:
            return list(self._messages)

    @property
    def accepted(self) -> list[Received]:
        """The messages answered with 2xx after the final dot."""
        return [m for m in self.messages if m.accepted]

    def wait_for(self, count: int, timeout: float = 5.0) -> bool:
        """Wait until at least ``count`` messages have arrived; False on timeout."""
        with self._lock:
            return self._lock.wait_for(lambda: len(self._messages) >= count, timeout)

    def plan(self, phase: Phase, match: Match, actions: Sequence[Action]) -> None:
        """Act at ``phase`` for events that ``match``, one action per event, in order."""
        with self._lock:
            self._faults.append(_Fault(phase, match, deque(actions)))

    def fail_mail(self, match: Match, codes: Sequence[Action]) -> None:
        self.plan("mail", match, codes)

    def fail_rcpt(self, match: Match, codes: Sequence[Action]) -> None:
        self.plan("rcpt", match, codes)

    def fail_data(self, match: Match, codes: Sequence[Action]) -> None:
        self.plan("data", match, codes)

    def fail_dot(self, match: Match, codes: Sequence[Action]) -> None:
        self.plan("dot", match, codes)

    def drop(self, phase: Phase, match: Match = None, times: int = 1) -> None:
        """Hang up at ``phase`` without answering (at ``dot``: after storing the message)."""
        self.plan(phase, match, ["drop"] * times)

    def delay(self, phase: Phase, seconds: float, match: Match = None, times: int = 1) -> None:
        """Answer at ``phase`` only after ``seconds`` (at ``dot``: the message is stored first)."""
        self.plan(phase, match, [Delay(seconds)] * times)

    def hang_up_all(self) -> None:
        """Say 421 on every open connection and close it, as a relay's idle timeout does."""

        async def hang_up() -> None:
            for writer in self._tasks.values():
                writer.write(b"421 4.4.2 smtpd.test Error: timeout exceeded\r\n")
                writer.close()

        asyncio.run_coroutine_threadsafe(hang_up(), self._loop).result(10)

    def refuse_connections(self, code: int = 421, times: int = 1) -> None:
        """Greet the next ``times`` connections with ``code`` and hang up."""
        self.plan("connect", None, [code] * times)

    def _action(self, phase: Phase, number: int, addresses: Sequence[str]) -> Action:
        with self._lock:
            for fault in self._faults:
                if fault.phase == phase and fault.actions and _matches(fault, number, addresses):
                    return fault.actions.popleft()
        return None

    def _count(self, attribute: str) -> int:
        with self._lock:
            value: int = getattr(self, attribute) + 1
            setattr(self, attribute, value)
            return value

    def _record(self, message: Received) -> None:
        with self._lock:
            self._messages.append(message)
            self._lock.notify_all()

    def _note(self, connection: int, verb: str, pipelined: bool) -> None:
        with self._lock:
            self.commands.append((connection, verb))
            self.pipelined_commands += pipelined
            self.pipelining_violations += pipelined and not self.pipelining

    async def _listen(self) -> asyncio.Server:
        return await asyncio.start_server(
            self._accept, self.host, 0, ssl=self.implicit_tls, limit=1 << 20
        )

    async def _accept(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        assert task is not None
        self._tasks[task] = writer
        try:
            await _Session(self, reader, writer, self._count("connections")).run()
        except (_Closed, ConnectionError, ssl.SSLError, asyncio.IncompleteReadError):
            pass
        finally:
            self._tasks.pop(task, None)
            writer.close()

    async def _shutdown(self) -> None:
        if self._server is not None:
            self._server.close()
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)


def _matches(fault: _Fault, number: int, addresses: Sequence[str]) -> bool:
    match = fault.match
    if match is None:
        return True
    if isinstance(match, int):
        return match == number
    return match.lower() in (a.lower() for a in addresses)


@dataclass(frozen=True)
class _Step:
    drop: bool
    delay: float
    code: int | None
    text: str


def _step(action: Action, phase: Phase, code: int | None, text: str) -> _Step:
    """What to do at ``phase``, given the plan's action and the usual reply."""
    if action == "drop":
        return _Step(True, 0.0, None, "")
    if isinstance(action, Delay):
        return _Step(False, action.seconds, code, text)
    if isinstance(action, tuple):
        return _Step(False, 0.0, action[0], action[1])
    if isinstance(action, int) and action >= 400:
        return _Step(False, 0.0, action, _text_for(action, phase))
    return _Step(False, 0.0, code, text)


def _b64(text: str) -> str:
    try:
        return base64.b64decode(text.strip(), validate=True).decode("utf-8", "replace")
    except ValueError:
        return ""  # "*" cancels an exchange (RFC 4954 4); it then fails like a wrong password


def _text_for(code: int, phase: Phase) -> str:
    if code == 421:
        return "4.3.2 Service shutting down (test plan)"
    if 400 <= code < 500:
        return "4.3.0 Try again later (test plan)"
    if phase == "rcpt":
        return "5.1.1 Recipient address rejected (test plan)"
    return "5.7.1 Refused (test plan)"


class _Session:
    """One client connection: the SMTP dialogue with the server's plan applied."""

    def __init__(
        self,
        server: SmtpServer,
        reader: asyncio.StreamReader,
        writer: asyncio.StreamWriter,
        number: int,
    ) -> None:
        self.server, self.reader, self.writer, self.number = server, reader, writer, number
        self.buffer = bytearray()
        self.out: list[bytes] = []
        self.tls = server.implicit_tls is not None
        self.greeted = False
        self.auth_user: str | None = None
        self.sender: str | None = None
        self.recipients: list[str] = []
        self.transaction = 0

    async def run(self) -> None:
        if not await self._planned("connect", self.number, [], 220, "smtpd.test ESMTP test"):
            return
        while True:
            verb, _, argument = (await self._line()).decode("utf-8", "replace").partition(" ")
            verb = verb.upper()
            self.server._note(self.number, verb, bool(self.buffer))
            handler = getattr(self, f"do_{verb.lower()}", None) if verb.isalpha() else None
            if handler is None:
                self._reply(500, "5.5.2 Error: command not recognized")
            else:
                await handler(argument.strip())

    async def do_ehlo(self, argument: str) -> None:
        if await self._planned("ehlo", self.number, [], None, ""):
            self.greeted, self.sender, self.recipients = True, None, []
            lines = ["smtpd.test", "SIZE 52428800", "8BITMIME", "ENHANCEDSTATUSCODES"]
            lines += ["PIPELINING"] if self.server.pipelining else []
            lines += ["STARTTLS"] if self.server.starttls and not self.tls else []
            lines += ["AUTH PLAIN LOGIN"] if self.server.users else []
            for line in lines[:-1]:
                self.out.append(f"250-{line}\r\n".encode())
            self._reply(250, lines[-1])

    async def do_helo(self, argument: str) -> None:
        self.greeted = True
        self._reply(250, "smtpd.test")

    async def do_starttls(self, argument: str) -> None:
        if self.server.starttls is None or self.tls:
            self._reply(502, "5.5.1 Error: STARTTLS not offered")
            return
        self._reply(220, "2.0.0 Ready to start TLS")
        await self._flush()
        self.buffer.clear()  # RFC 3207 5: anything sent before the handshake is discarded
        await self.writer.start_tls(self.server.starttls)
        self.tls, self.greeted, self.auth_user = True, False, None

    async def do_auth(self, argument: str) -> None:
        mechanism, _, initial = argument.partition(" ")
        if not self.server.users or mechanism.upper() not in ("PLAIN", "LOGIN"):
            self._reply(504, "5.5.4 Unrecognized authentication type")
            return
        if mechanism.upper() == "PLAIN":
            parts = (_b64(initial) if initial else await self._challenge("")).split("\0")
            user, secret = (parts[1], parts[2]) if len(parts) == 3 else ("", "")
        else:
            user = _b64(initial) if initial else await self._challenge("VXNlcm5hbWU6")
            secret = await self._challenge("UGFzc3dvcmQ6")
        if self.server.users.get(user) == secret:
            self.auth_user = user
            self._reply(235, "2.7.0 Authentication successful")
        else:
            self._reply(535, "5.7.8 Authentication credentials invalid")

    async def _challenge(self, prompt: str) -> str:
        self._reply(334, prompt)
        return _b64((await self._line()).decode("ascii", "replace"))

    async def do_mail(self, argument: str) -> None:
        if not self.greeted or self.sender is not None:
            self._reply(503, "5.5.1 Error: bad sequence of commands")
            return
        if self.server.require_auth and self.auth_user is None:
            self._reply(530, "5.7.0 Authentication required")
            return
        sender = _address(argument, "FROM:")
        self.transaction = self.server._count("transactions")
        if await self._planned("mail", self.transaction, [sender], 250, "2.1.0 Ok"):
            self.sender = sender

    async def do_rcpt(self, argument: str) -> None:
        if self.sender is None:
            self._reply(503, "5.5.1 Error: need MAIL command")
            return
        recipient = _address(argument, "TO:")
        if await self._planned("rcpt", self.transaction, [recipient], 250, "2.1.5 Ok"):
            self.recipients.append(recipient)

    async def do_data(self, argument: str) -> None:
        if self.sender is None or not self.recipients:
            self._reply(554 if self.sender else 503, "5.5.1 Error: no valid recipients")
            return
        if not await self._planned("data", self.transaction, self.recipients, 354, "End data"):
            return
        if self.server._action("content", self.transaction, self.recipients) == "drop":
            await self._fill()  # some of the content is in: now hang up on it
            raise _Closed
        data = await self._content()
        await self._verdict(data)
        self.sender, self.recipients = None, []

    async def _verdict(self, data: bytes) -> None:
        action = self.server._action("dot", self.transaction, self.recipients)
        step = _step(action, "dot", 250, f"2.0.0 Ok: queued as T{self.transaction:06X}")
        self.server._record(
            Received(
                self.sender or "",
                tuple(self.recipients),
                data if self.server.keep_data else None,
                len(data),
                0 if step.drop else step.code or 250,
                "(hung up without a reply: test plan)" if step.drop else step.text,
                self.number,
                self.tls,
                self.auth_user,
            )
        )
        await self._perform(step, "dot")

    async def do_rset(self, argument: str) -> None:
        self.sender, self.recipients = None, []
        self._reply(250, "2.0.0 Ok")

    async def do_noop(self, argument: str) -> None:
        self._reply(250, "2.0.0 Ok")

    async def do_quit(self, argument: str) -> None:
        self._reply(221, "2.0.0 Bye")
        await self._flush()
        raise _Closed

    async def _planned(
        self, phase: Phase, number: int, addresses: Sequence[str], code: int | None, text: str
    ) -> bool:
        """Apply the plan at ``phase``; True when the command went through normally."""
        step = _step(self.server._action(phase, number, addresses), phase, code, text)
        await self._perform(step, phase)
        return step.code is None or step.code < 400

    async def _perform(self, step: _Step, phase: Phase) -> None:
        if step.drop:
            raise _Closed
        if step.delay:
            await self._flush()
            await asyncio.sleep(step.delay)
        if step.code is not None:
            self._reply(step.code, step.text)
        if step.code == 421 or (phase == "connect" and step.code != 220):
            await self._flush()
            raise _Closed

    def _reply(self, code: int, text: str) -> None:
        self.out.append(f"{code} {text}\r\n".encode())

    async def _flush(self) -> None:
        if self.out:
            self.writer.write(b"".join(self.out))
            self.out.clear()
            await self.writer.drain()

    async def _fill(self) -> None:
        # RFC 2920 3.2: replies to a pipelined group may wait until the input is used up.
        await self._flush()
        chunk = await self.reader.read(1 << 18)
        if not chunk:
            raise _Closed
        self.buffer += chunk

    async def _line(self) -> bytes:
        while (end := self.buffer.find(b"\n")) < 0:
            await self._fill()
        line = bytes(self.buffer[: end + 1]).rstrip(b"\r\n")
        del self.buffer[: end + 1]
        return line

    async def _content(self) -> bytes:
        # The CRLF that ended "DATA" starts the terminator, so ".CRLF" first means empty.
        while len(self.buffer) < 3:
            await self._fill()
        if self.buffer.startswith(b".\r\n"):
            del self.buffer[:3]
            return b""
        start = 0
        while (end := self.buffer.find(b"\r\n.\r\n", start)) < 0:
            start = max(0, len(self.buffer) - 4)
            await self._fill()
        data = bytes(self.buffer[: end + 2])
        del self.buffer[: end + 5]
        if data.startswith(b".") or b"\n." in data:
            # RFC 5321 4.5.2: drop the first dot of every line that starts with one.
            data = data[1:] if data.startswith(b".") else data
            data = data.replace(b"\n.", b"\n")
        return data


def _address(argument: str, prefix: str) -> str:
    path = argument[len(prefix) :] if argument.upper().startswith(prefix) else argument
    return path.strip().split(" ")[0].strip("<>")


@contextlib.contextmanager
def unused_port() -> Iterator[int]:
    """A port on 127.0.0.1 where nothing listens (held, so nobody else takes it meanwhile)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        yield sock.getsockname()[1]
