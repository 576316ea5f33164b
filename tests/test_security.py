"""Security checks of the code itself: bandit finds nothing, secrets stay out of sight.

Bandit runs over ``dispatcher`` and ``subscribers`` as part of the suite. Every false
positive is answered where it is, with ``# nosec <TEST_ID> - <reason>``; a new
finding fails this test until it is fixed or answered the same way.

Secrets (SECRET_KEY and its fallbacks, API and metrics tokens, passwords inside the
database, broker and SMTP URLs) come only from the environment, through
:mod:`dispatcher.config`, and never show in a repr, a log line or an error; nor do
the subscribers' personal tokens in the paths the web app logs.
"""

from __future__ import annotations

import json
import logging
import re
import subprocess  # nosec B404 - runs bandit, with a fixed argument list
import sys
from pathlib import Path

import pytest

from dispatcher.config import Settings, SmtpSettings, redact_url
from dispatcher.errors import DeliveryError
from dispatcher.message.outgoing import OutgoingMessage
from dispatcher.transport import create_transport
from dispatcher.web.security import RedactTokens, redact_path
from tests.support.web import free_port

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("dispatcher", "subscribers")
PASSWORD = "pa55-w0rd-segreta"
SECRET = "chiave-segreta-di-firma-lunga-abbastanza"


def bandit_findings() -> list[dict[str, object]]:
    command = [sys.executable, "-m", "bandit", "-q", "-r", *PACKAGES, "-f", "json"]
    done = subprocess.run(  # nosec B603 - our own interpreter, fixed arguments
        command, cwd=ROOT, capture_output=True, text=True, timeout=120, check=False
    )
    report = json.loads(done.stdout)
    assert report["errors"] == [], report["errors"]
    findings: list[dict[str, object]] = report["results"]
    return findings


def test_bandit_finds_nothing_unanswered() -> None:
    findings = bandit_findings()
    unanswered = [
        f"{f['filename']}:{f['line_number']}: {f['test_id']} {f['issue_text']}" for f in findings
    ]
    assert not unanswered, "\n".join(unanswered)


def test_secrets_are_read_from_the_environment_in_one_place_only() -> None:
    readers = [
        f"{path.relative_to(ROOT)}:{number}"
        for package in PACKAGES
        for path in sorted((ROOT / package).rglob("*.py"))
        if path.name != "config.py" or path.parent.name != "dispatcher"
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1)
        if re.search(r"\bos\.(environ|getenv)\b|\bgetenv\(", line)
    ]
    assert not readers, readers


def secret_settings() -> Settings:
    return Settings.from_env(
        {
            "SECRET_KEY": SECRET,
            "SECRET_KEY_FALLBACKS": f"{SECRET}-vecchia, {SECRET}-antica",
            "API_TOKEN": f"{SECRET}-api",
            "METRICS_TOKEN": f"{SECRET}-metrics",
            "DATABASE_URL": f"postgresql://dispatcher:{PASSWORD}@db.internal/dispatcher",
            "BROKER_URL": f"redis://:{PASSWORD}@redis.internal:6379/0",
            "REDIS_URL": f"rediss://default:{PASSWORD}@redis.internal:6380/1",
            "SMTP_URL": f"smtp://mailer:{PASSWORD}@relay.internal:587",
        }
    )


def test_settings_never_show_their_secrets() -> None:
    settings = secret_settings()
    for shown in (repr(settings), str(settings), f"{settings}", repr([settings])):
        assert SECRET not in shown and PASSWORD not in shown, shown
    assert "db.internal" in repr(settings) and "relay.internal" in repr(settings)
    assert settings.secret_key == SECRET and settings.smtp.password == PASSWORD  # still usable


@pytest.mark.parametrize(
    "url",
    [
        f"smtp://mailer:{PASSWORD}@relay.internal:587",
        f"smtps://mailer%40ente:{PASSWORD}@relay.internal",
        "smtp://relay.internal:25",
        "file:///var/outbox",
    ],
)
def test_smtp_settings_never_show_the_password(url: str) -> None:
    smtp = SmtpSettings(url=url)
    assert PASSWORD not in repr(smtp) and PASSWORD not in str(smtp)


@pytest.mark.parametrize(
    ("url", "shown"),
    [
        (f"postgresql+psycopg://u:{PASSWORD}@h/db", "postgresql+psycopg://u:***@h/db"),
        (f"redis://:{PASSWORD}@h:6379/0", "redis://:***@h:6379/0"),
        ("sqlite:///var/dispatcher.sqlite", "sqlite:///var/dispatcher.sqlite"),
        (f"redis://u:{PASSWORD}@[::1/0", "<unreadable URL>"),
    ],
)
def test_urls_are_printed_without_their_password(url: str, shown: str) -> None:
    assert redact_url(url) == shown


def test_a_relay_that_cannot_be_reached_is_reported_without_the_password(
    caplog: pytest.LogCaptureFixture,
) -> None:
    port = free_port()  # nobody listens here
    transport = create_transport(
        SmtpSettings(url=f"smtp://mailer:{PASSWORD}@127.0.0.1:{port}", connect_timeout=2)
    )
    message = OutgoingMessage(
        delivery_id=1,
        envelope_from="b-1@bounces.example.org",
        recipient="lettore@example.org",
        data=b"Subject: x\r\n\r\nx\r\n",
        message_id="<1@example.org>",
        dot_safe=True,
    )
    caplog.set_level(logging.DEBUG)
    try:
        outcomes = list(transport.deliver([message]))
    except DeliveryError as error:
        told = str(error)
    else:
        told = " ".join(f"{outcome}" for outcome in outcomes)
    finally:
        transport.close()
    assert PASSWORD not in told and PASSWORD not in caplog.text


@pytest.mark.parametrize(
    ("path", "logged"),
    [
        ("/u/0a1b2c3d4e5f", "/u/<token>"),
        ("/p/0a1b2c3d4e5f?lang=en", "/p/<token>?lang=en"),
        ("/conferma/0a1b2c3d", "/conferma/<token>"),
        ("/archive/cronache/44", "/archive/cronache/44"),
        ("/admin/u/1", "/admin/u/1"),
    ],
)
def test_personal_tokens_are_kept_out_of_logged_paths(path: str, logged: str) -> None:
    assert redact_path(path) == logged


def test_the_access_log_shows_no_personal_token() -> None:
    # The arguments as uvicorn's access logger passes them.
    args = ("203.0.113.7:50000", "POST", "/u/0a1b2c3d4e5f", "1.1", 200)
    record = logging.LogRecord(
        "uvicorn.access", logging.INFO, __file__, 1, '%s - "%s %s HTTP/%s" %d', args, None
    )
    assert RedactTokens().filter(record)
    assert record.getMessage() == '203.0.113.7:50000 - "POST /u/<token> HTTP/1.1" 200'
