"""Helpers for tests that talk SMTP on 127.0.0.1.

Messages and settings for test relays, a self-signed certificate for 127.0.0.1
made with ``cryptography`` (:func:`make_tls_files`), and :func:`smtp_sink`, which
runs Postfix's smtp-sink on a free port. The test server itself is
:class:`tests.smtpd.SmtpServer`. Everything binds to 127.0.0.1 on ports the OS
hands out, since other test runs share the machine.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime
import ipaddress
import os
import pwd
import shutil
import socket
import ssl
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP as AioSMTP
from aiosmtpd.smtp import Envelope, Session
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from dispatcher.config import SmtpSettings
from dispatcher.message.outgoing import OutgoingMessage

SMTP_SINK = shutil.which("smtp-sink") or "/usr/sbin/smtp-sink"
_LINE = b"Lorem ipsum dolor sit amet, consectetur adipiscing elit, sed do eiusmod tempor\r\n"


def message_data(index: int, size: int = 60_000) -> bytes:
    """A CRLF message of about ``size`` bytes whose headers name ``index``."""
    head = f"From: news@example.org\r\nTo: r{index}@example.org\r\nSubject: n. {index}\r\n\r\n"
    return head.encode() + _LINE * max(1, size // len(_LINE))


def make_message(
    index: int, *, recipient: str | None = None, data: bytes | None = None, size: int = 2_000
) -> OutgoingMessage:
    """An :class:`OutgoingMessage` for delivery ``index`` (recipient ``r<index>@example.org``)."""
    return OutgoingMessage(
        delivery_id=index,
        envelope_from=f"bounce-{index}@bounces.example.org",
        recipient=recipient or f"r{index}@example.org",
        data=message_data(index, size) if data is None else data,
        message_id=f"<{index}@example.org>",
    )


def make_messages(count: int, *, start: int = 1, size: int = 2_000) -> list[OutgoingMessage]:
    return [make_message(i, size=size) for i in range(start, start + count)]


def settings_for(url: str, **overrides: object) -> SmtpSettings:
    """SMTP settings for a test relay, with short timeouts unless told otherwise."""
    values: dict[str, object] = {
        "url": url,
        "connect_timeout": 5.0,
        "command_timeout": 5.0,
        "data_timeout": 10.0,
        "final_timeout": 5.0,
    }
    values.update(overrides)
    return SmtpSettings(**values)  # type: ignore[arg-type]


@dataclass(frozen=True)
class TlsFiles:
    cert: Path
    key: Path

    def server_context(self) -> ssl.SSLContext:
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(self.cert, self.key)
        return context

    def client_context(self) -> ssl.SSLContext:
        return ssl.create_default_context(cafile=str(self.cert))


def make_tls_files(folder: Path) -> TlsFiles:
    """Write a self-signed certificate valid for 127.0.0.1 and localhost into ``folder``."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "smtpd.test")])
    now = datetime.datetime.now(datetime.UTC)
    names = [x509.DNSName("localhost"), x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(x509.SubjectAlternativeName(names), critical=False)
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    files = TlsFiles(folder / "cert.pem", folder / "key.pem")
    files.cert.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    files.key.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return files


@contextlib.contextmanager
def smtp_sink(*options: str, attempts: int = 5) -> Iterator[int]:
    """Run Postfix's smtp-sink on a free 127.0.0.1 port; yields the port.

    The port is found by binding to port 0 and letting go, so another process may
    take it first: then smtp-sink exits and another port is tried.
    """
    for _ in range(attempts):
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            port = probe.getsockname()[1]
        user = pwd.getpwuid(os.getuid()).pw_name  # smtp-sink insists on -u when run as root
        command = [SMTP_SINK, "-u", user, *options, f"127.0.0.1:{port}", "100"]
        sink = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        try:
            if _listening(port, sink):
                yield port
                return
        finally:
            sink.terminate()
            sink.wait(10)
    raise RuntimeError("smtp-sink did not start")


def _listening(port: int, process: subprocess.Popen[bytes]) -> bool:
    for _ in range(100):
        if process.poll() is not None:
            return False
        with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), 0.5):
            return True
        time.sleep(0.05)
    return False


class FreePortController(Controller):
    """aiosmtpd's Controller, told the port the OS chose (it cannot ask for port 0 itself)."""

    def _trigger_server(self) -> None:
        assert isinstance(self.server, asyncio.Server)
        self.port = self.server.sockets[0].getsockname()[1]
        super()._trigger_server()  # type: ignore[no-untyped-call]


class KeepEnvelopes:
    """An aiosmtpd handler that keeps every envelope it accepts."""

    def __init__(self) -> None:
        self.envelopes: list[Envelope] = []

    async def handle_DATA(self, server: AioSMTP, session: Session, envelope: Envelope) -> str:
        self.envelopes.append(envelope)
        return "250 2.0.0 Ok: queued as AIO1"
