"""Which keys sign, whether they align with From, and what preflight says when they do not."""

from __future__ import annotations

import pytest

from dispatcher.config import DkimSettings, Settings
from dispatcher.errors import ConfigurationError
from dispatcher.message.dkim import aligned
from dispatcher.preflight.signing import check_signing

FROM = "cronache@cittametropolitana.torino.it"


def test_the_keys_come_from_the_single_key_settings_and_dkim_keys() -> None:
    env = {
        "DKIM_DOMAIN": "cittametropolitana.torino.it",
        "DKIM_SELECTOR": "rsa2024",
        "DKIM_KEY_FILE": "/etc/dispatcher/rsa.pem",
        "DKIM_KEYS": " ed2024:/etc/dispatcher/ed.pem , ",
        "SECRET_KEY": "k" * 40,
    }
    dkim = Settings.from_env(env).dkim
    assert dkim.key_specs == [
        ("rsa2024", "/etc/dispatcher/rsa.pem"),
        ("ed2024", "/etc/dispatcher/ed.pem"),
    ]
    assert dkim.enabled
    only_keys = Settings.from_env({**env, "DKIM_SELECTOR": "", "DKIM_KEY_FILE": ""}).dkim
    assert only_keys.key_specs == [("ed2024", "/etc/dispatcher/ed.pem")] and only_keys.enabled
    assert not Settings.from_env({"SECRET_KEY": "k" * 40}).dkim.enabled


@pytest.mark.parametrize("entry", ["ed2024", ":/etc/x.pem", "ed2024:", "ed2024:  "])
def test_a_malformed_dkim_keys_entry_is_named(entry: str) -> None:
    with pytest.raises(ConfigurationError, match="DKIM_KEYS"):
        _ = DkimSettings("example.org", None, None, entry).key_specs


@pytest.mark.parametrize(
    ("from_domain", "signer", "expected"),
    [
        ("cittametropolitana.torino.it", "cittametropolitana.torino.it", True),
        ("news.cittametropolitana.torino.it", "cittametropolitana.torino.it", True),
        ("cittametropolitana.torino.it", "mail.cittametropolitana.torino.it", True),
        ("CittaMetropolitana.Torino.IT", "cittametropolitana.torino.it.", True),
        ("cittametropolitana.torino.it", "sendgrid.net", False),
        ("cittametropolitana.torino.it", "metropolitana.torino.it", False),  # no dot boundary
    ],
)
def test_alignment_is_relaxed_dmarc_alignment(
    from_domain: str, signer: str, expected: bool
) -> None:
    assert aligned(from_domain, signer) is expected


def test_unsigned_mail_to_a_real_relay_is_a_warning() -> None:
    report = check_signing(FROM, None, False, "smtp://relay.internal:25")
    assert report.codes() == {"dkim.unsigned"} and not report.errors
    assert check_signing(FROM, None, False, "file:///var/outbox").codes() == set()


def test_a_signature_by_another_domain_is_an_error() -> None:
    report = check_signing(FROM, "newsletter-provider.example", True, "smtp://relay:25")
    assert [f.code for f in report.errors] == ["dkim.alignment"]
    assert "newsletter-provider.example" in report.errors[0].message
    assert check_signing(FROM, "cittametropolitana.torino.it", True, "smtp://r:25").codes() == set()
