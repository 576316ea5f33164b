"""Every message is signed with every configured key: newsletters, confirmations, proofs.

RSA-2048 and Ed25519 together (RFC 8463 suggests both while receivers adopt Ed25519);
each signature is verified with dkimpy against the record `dispatcher dkim record`
would publish for its selector.
"""

from __future__ import annotations

import email
import email.policy
import re
from collections.abc import Callable, Iterator
from pathlib import Path

import dkim as dkimpy
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ed25519, rsa
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session, sessionmaker

from dispatcher.config import DkimSettings, SendingSettings, Settings
from dispatcher.message import dkim
from dispatcher.sends.batch import run_batch
from dispatcher.sends.runtime import Runtime
from dispatcher.transport.memory import MemoryTransport
from dispatcher.web import create_app
from tests.smtpd import SmtpServer
from tests.support.admin import fake_preflight, make_desk
from tests.support.data import add_example_edition, add_subscribers, create_newsletter
from tests.support.sending import start_send

DOMAIN = "cittametropolitana.torino.it"


@pytest.fixture
def two_keys(tmp_path: Path) -> DkimSettings:
    keys = {
        "news-rsa": rsa.generate_private_key(public_exponent=65537, key_size=2048),
        "news-ed": ed25519.Ed25519PrivateKey.generate(),
    }
    for selector, key in keys.items():
        pem = key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
        (tmp_path / f"{selector}.pem").write_bytes(pem)
    return DkimSettings(
        DOMAIN, "news-rsa", str(tmp_path / "news-rsa.pem"), f"news-ed:{tmp_path}/news-ed.pem"
    )


def _records(settings: DkimSettings) -> dict[bytes, bytes]:
    return {
        f"{key.selector}._domainkey.{key.domain}.".encode(): dkim.public_record(key).encode()
        for key in dkim.configured_keys(settings)
    }


def assert_signed_by_both(data: bytes, settings: DkimSettings) -> None:
    records = _records(settings)
    message = email.message_from_bytes(data, policy=email.policy.compat32)
    signatures = message.get_all("DKIM-Signature") or []
    selectors = sorted(re.search(r"\bs=([\w-]+)", s).group(1) for s in signatures)  # type: ignore[union-attr]
    assert selectors == ["news-ed", "news-rsa"]
    checker = dkimpy.DKIM(data)
    for index in range(2):
        assert checker.verify(idx=index, dnsfunc=lambda name, timeout=5: records[name])


def test_a_newsletter_carries_a_signature_per_key(
    make_settings: Callable[..., Settings],
    pg_url: str,
    pg_sessions: object,
    two_keys: DkimSettings,
) -> None:
    memory = MemoryTransport()
    policy = SendingSettings(batch_size=10, dispatch_window=10)
    runtime = Runtime(
        make_settings(database_url=pg_url, sending=policy, dkim=two_keys), lambda: memory
    )
    try:
        with runtime.sessions.begin() as session:
            add_subscribers(session, create_newsletter(session).id, 3)
            edition_id = add_example_edition(session, runtime.settings)
        queue: list[int] = []
        start_send(runtime.sessions, edition_id, ("cronache",), 10, 10, queue.append)
        while queue:
            run_batch(runtime, queue.pop(0), queue.append)
    finally:
        runtime.close()
    assert len(memory.sent) == 3
    for message in memory.sent:
        assert_signed_by_both(message.data, two_keys)


@pytest.fixture
def smtp() -> Iterator[SmtpServer]:
    server = SmtpServer().start()
    yield server
    server.stop()


def test_a_confirmation_mail_is_signed_like_the_newsletters(
    make_settings: Callable[..., Settings],
    pg_url: str,
    pg_sessions: sessionmaker[Session],
    smtp: SmtpServer,
    two_keys: DkimSettings,
) -> None:
    from tests.flows.test_public_pages import sign_up

    with pg_sessions.begin() as session:
        create_newsletter(session)
    settings = make_settings(database_url=pg_url, smtp_url=smtp.url, dkim=two_keys)
    with TestClient(create_app(settings, sessions=pg_sessions), follow_redirects=False) as client:
        assert sign_up(client, "mario.rossi@example.org").status_code == 200
    assert smtp.wait_for(1)
    data = smtp.accepted[0].data
    assert data is not None
    assert_signed_by_both(data.replace(b"\n", b"\r\n") if b"\r\n" not in data else data, two_keys)


def test_a_proof_is_signed_like_the_newsletters(
    make_settings: Callable[..., Settings],
    pg_url: str,
    pg_sessions: sessionmaker[Session],
    two_keys: DkimSettings,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    fake_preflight(monkeypatch)
    memory = MemoryTransport()
    desk = make_desk(make_settings(database_url=pg_url, dkim=two_keys), pg_sessions, memory)
    with desk.sessions.begin() as session:
        add_subscribers(session, create_newsletter(session).id, 1)
        edition_id = add_example_edition(session, desk.settings)
    with desk.client("editor") as editor:
        answer = editor.post(f"/admin/editions/{edition_id}/proofs", {"addresses": "d@example.net"})
    assert answer.status_code == 303 and len(memory.sent) == 1
    assert_signed_by_both(memory.sent[0].data, two_keys)
