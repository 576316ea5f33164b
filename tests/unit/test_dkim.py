"""DKIM signatures made with OpenSSL, verified with dkimpy (no DNS: the record is given)."""

from __future__ import annotations

from pathlib import Path

import dkim as dkimpy
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ed25519, rsa

from dispatcher.errors import ConfigurationError
from dispatcher.message import dkim
from tests.unit.test_messages import _content, _message

RSA_KEY = rsa.generate_private_key(public_exponent=65537, key_size=2048)
ED_KEY = ed25519.Ed25519PrivateKey.generate()


def _verify(message: bytes, key: dkim.DkimKey) -> bool:
    record = dkim.public_record(key).encode()
    return bool(dkimpy.verify(message, dnsfunc=lambda name, timeout=5: record))


@pytest.fixture(scope="module")
def message() -> bytes:
    return _message(_content())


@pytest.mark.parametrize("private_key", [RSA_KEY, ED_KEY], ids=["rsa-2048", "ed25519"])
def test_a_signed_newsletter_verifies_with_dkimpy(message: bytes, private_key: object) -> None:
    key = dkim.DkimKey("cittametropolitana.torino.it", "news2024", private_key)  # type: ignore[arg-type]
    signed = dkim.sign(message, key)
    assert _verify(signed, key)
    assert signed.endswith(message) and max(len(line) for line in signed.split(b"\r\n")) <= 998


def test_the_one_click_headers_are_signed(message: bytes) -> None:
    key = dkim.DkimKey("cittametropolitana.torino.it", "news2024", RSA_KEY)
    header = dkim.sign(message, key).split(b"\r\n\r\n")[0].replace(b"\r\n ", b"")
    names = header.split(b"h=")[1].split(b";")[0].split(b":")
    for wanted in (b"from", b"to", b"subject", b"date", b"message-id", b"list-id"):
        assert wanted in names
    assert b"list-unsubscribe" in names and b"list-unsubscribe-post" in names


@pytest.mark.parametrize(
    ("old", "new"),
    [
        (b"Subject: ", b"Subject: FW: "),
        (b"a.r.a.", b"x.y.z."),
        (b"List-Unsubscribe-Post: ", b"X: "),
    ],
)
def test_a_changed_message_no_longer_verifies(message: bytes, old: bytes, new: bytes) -> None:
    key = dkim.DkimKey("cittametropolitana.torino.it", "news2024", RSA_KEY)
    signed = dkim.sign(message, key)
    assert old in signed
    assert not _verify(signed.replace(old, new, 1), key)


def test_keys_load_from_pem_and_bad_files_are_named(tmp_path: Path) -> None:
    pem = RSA_KEY.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    (tmp_path / "key.pem").write_bytes(pem)
    assert dkim.load_key(tmp_path / "key.pem", "example.org", "s").algorithm == "rsa-sha256"
    (tmp_path / "bad.pem").write_text("not a key")
    with pytest.raises(ConfigurationError, match="bad.pem"):
        dkim.load_key(tmp_path / "bad.pem", "example.org", "s")
