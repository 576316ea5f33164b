"""`dispatcher dkim record` prints a line that a real zone file parser accepts."""

from __future__ import annotations

from pathlib import Path

import dns.rdatatype
import dns.zone
import pytest
from click.testing import CliRunner
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ed25519, rsa

from dispatcher.cli.main import cli
from dispatcher.message import dkim

DOMAIN = "cittametropolitana.torino.it"
ZONE_HEAD = f"""$ORIGIN {DOMAIN}.
$TTL 3600
@ IN SOA ns1.{DOMAIN}. hostmaster.{DOMAIN}. 1 7200 900 1209600 3600
@ IN NS ns1.{DOMAIN}.
"""


def _txt_strings(line: str) -> list[bytes]:
    zone = dns.zone.from_text(ZONE_HEAD + line + "\n", origin=f"{DOMAIN}.", relativize=False)
    rdataset = zone.find_rdataset(f"news2024._domainkey.{DOMAIN}.", dns.rdatatype.TXT)
    (rdata,) = list(rdataset)
    return list(rdata.strings)  # type: ignore[attr-defined]


@pytest.mark.parametrize(
    "private_key",
    [rsa.generate_private_key(public_exponent=65537, key_size=bits) for bits in (2048, 4096)]
    + [ed25519.Ed25519PrivateKey.generate()],
    ids=["rsa-2048", "rsa-4096", "ed25519"],
)
def test_the_zone_entry_parses_and_resolvers_rebuild_the_record(private_key: object) -> None:
    key = dkim.DkimKey(DOMAIN, "news2024", private_key)  # type: ignore[arg-type]
    strings = _txt_strings(dkim.zone_entry(key))
    assert all(len(part) <= 255 for part in strings)
    assert b"".join(strings).decode() == dkim.public_record(key)


def test_one_long_string_is_what_zone_files_refuse() -> None:
    key = dkim.DkimKey(DOMAIN, "news2024", rsa.generate_private_key(65537, 2048))
    with pytest.raises(dns.exception.DNSException):
        _txt_strings(f'news2024._domainkey.{DOMAIN}. IN TXT "{dkim.public_record(key)}"')


def test_the_command_prints_the_entry(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    private = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    pem = tmp_path / "dkim.pem"
    pem.write_bytes(
        private.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    env = {
        "DATABASE_URL": f"sqlite:///{tmp_path}/x.sqlite",
        "SECRET_KEY": "k" * 40,
        "DKIM_DOMAIN": DOMAIN,
        "DKIM_SELECTOR": "news2024",
        "DKIM_KEY_FILE": str(pem),
    }
    result = CliRunner().invoke(cli, ["dkim", "record"], env=env)
    assert result.exit_code == 0, result.output
    strings = _txt_strings(result.output.strip())
    assert b"".join(strings).decode() == dkim.public_record(dkim.load_key(pem, DOMAIN, "news2024"))


def test_the_command_prints_one_entry_per_key(tmp_path: Path) -> None:
    paths = {}
    for selector, private in (
        ("rsa2024", rsa.generate_private_key(public_exponent=65537, key_size=2048)),
        ("ed2024", ed25519.Ed25519PrivateKey.generate()),
    ):
        paths[selector] = tmp_path / f"{selector}.pem"
        paths[selector].write_bytes(
            private.private_bytes(
                serialization.Encoding.PEM,
                serialization.PrivateFormat.PKCS8,
                serialization.NoEncryption(),
            )
        )
    env = {
        "DATABASE_URL": f"sqlite:///{tmp_path}/x.sqlite",
        "SECRET_KEY": "k" * 40,
        "DKIM_DOMAIN": DOMAIN,
        "DKIM_SELECTOR": "rsa2024",
        "DKIM_KEY_FILE": str(paths["rsa2024"]),
        "DKIM_KEYS": f"ed2024:{paths['ed2024']}",
    }
    result = CliRunner().invoke(cli, ["dkim", "record"], env=env)
    assert result.exit_code == 0, result.output
    lines = result.output.strip().splitlines()
    assert [line.split("._domainkey")[0] for line in lines] == ["rsa2024", "ed2024"]
    assert "k=ed25519" in lines[1] and "k=rsa" in lines[0]
