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


def _record_command(tmp_path: Path, keys: dict[str, object]) -> list[str]:
    """Write each selector's key as PEM, run `dispatcher dkim record`, return its lines.

    The first key is DKIM_SELECTOR/DKIM_KEY_FILE, the others go in DKIM_KEYS.
    """
    paths = {}
    for selector, private in keys.items():
        paths[selector] = tmp_path / f"{selector}.pem"
        paths[selector].write_bytes(
            private.private_bytes(  # type: ignore[attr-defined]
                serialization.Encoding.PEM,
                serialization.PrivateFormat.PKCS8,
                serialization.NoEncryption(),
            )
        )
    first, *others = paths
    env = {
        "DATABASE_URL": f"sqlite:///{tmp_path}/x.sqlite",
        "SECRET_KEY": "k" * 40,
        "DKIM_DOMAIN": DOMAIN,
        "DKIM_SELECTOR": first,
        "DKIM_KEY_FILE": str(paths[first]),
        "DKIM_KEYS": ",".join(f"{selector}:{paths[selector]}" for selector in others),
    }
    result = CliRunner().invoke(cli, ["dkim", "record"], env=env)
    assert result.exit_code == 0, result.output
    return result.output.strip().splitlines()


def test_the_command_prints_the_entry(tmp_path: Path) -> None:
    (line,) = _record_command(tmp_path, {"news2024": rsa.generate_private_key(65537, 2048)})
    key = dkim.load_key(tmp_path / "news2024.pem", DOMAIN, "news2024")
    assert b"".join(_txt_strings(line)).decode() == dkim.public_record(key)


def test_the_command_prints_one_entry_per_key(tmp_path: Path) -> None:
    keys = {
        "rsa2024": rsa.generate_private_key(public_exponent=65537, key_size=2048),
        "ed2024": ed25519.Ed25519PrivateKey.generate(),
    }
    lines = _record_command(tmp_path, keys)
    assert [line.split("._domainkey")[0] for line in lines] == ["rsa2024", "ed2024"]
    assert "k=ed25519" in lines[1] and "k=rsa" in lines[0]
