"""DKIM signatures (RFC 6376, RFC 8463) made in the worker, one per message and key.

Signing goes through OpenSSL (the ``cryptography`` package): an RSA-2048
signature costs about 0.25 ms there against about 8 ms in dkimpy's pure Python,
and Ed25519 less still. dkimpy verifies our signatures in the tests.

Canonicalisation is relaxed for headers and simple for the body: our bodies are
7-bit quoted-printable with CRLF line ends, which no relay needs to rewrite, and
"simple" lets the body hash be one SHA-256 pass over the bytes instead of a
whitespace-folding regex over 40-60 KB for every recipient.
"""

from __future__ import annotations

import base64
import hashlib
import re
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ed25519, padding, rsa

from dispatcher.config import DkimSettings
from dispatcher.errors import ConfigurationError

#: Signed headers; List-Unsubscribe-Post must be signed for RFC 8058 one-click.
SIGNED_HEADERS = (
    "from", "to", "subject", "date", "message-id", "reply-to", "mime-version", "content-type",
    "list-id", "list-unsubscribe", "list-unsubscribe-post",
)  # fmt: skip
_WSP_RUN = re.compile(rb"[ \t]+")
_FOLD = re.compile(rb"\r\n(?=[ \t])")


@dataclass(frozen=True)
class DkimKey:
    """A private key and where its public half is published (``selector._domainkey.domain``)."""

    domain: str
    selector: str
    private_key: rsa.RSAPrivateKey | ed25519.Ed25519PrivateKey

    @property
    def algorithm(self) -> str:
        return (
            "ed25519-sha256"
            if isinstance(self.private_key, ed25519.Ed25519PrivateKey)
            else "rsa-sha256"
        )


def load_key(path: Path, domain: str, selector: str) -> DkimKey:
    """Read a PEM private key (RSA of at least 1024 bits, or Ed25519).

    :raises ConfigurationError: naming the file when it cannot be used
    """
    try:
        key = serialization.load_pem_private_key(path.read_bytes(), password=None)
    except (OSError, ValueError, TypeError) as exc:
        raise ConfigurationError(f"DKIM_KEY_FILE {path}: not a readable PEM private key") from exc
    if isinstance(key, rsa.RSAPrivateKey) and key.key_size >= 1024:
        return DkimKey(domain, selector, key)
    if isinstance(key, ed25519.Ed25519PrivateKey):
        return DkimKey(domain, selector, key)
    raise ConfigurationError(f"DKIM_KEY_FILE {path}: use an RSA (>= 1024 bits) or Ed25519 key")


def load_keys(domain: str, specs: Sequence[tuple[str, str]]) -> tuple[DkimKey, ...]:
    """Read every (selector, PEM file) for ``domain``.

    :raises ConfigurationError: naming the file that cannot be used
    """
    return tuple(load_key(Path(path), domain, selector) for selector, path in specs)


def configured_keys(settings: DkimSettings) -> tuple[DkimKey, ...]:
    """The keys every message is signed with (none when DKIM is not configured).

    :raises ConfigurationError: naming the setting or file that cannot be used
    """
    if not settings.domain:
        return ()
    return load_keys(settings.domain, settings.key_specs)


def aligned(from_domain: str, signing_domain: str) -> bool:
    """Whether a signature by ``signing_domain`` aligns with the From domain for DMARC.

    Relaxed alignment (the DMARC default) asks for the same organisational domain; without
    the public suffix list, one being the other or a subdomain of it is what is checked
    (``cittametropolitana.torino.it`` and ``news.cittametropolitana.torino.it`` align).
    """
    mail, signer = from_domain.lower().rstrip("."), signing_domain.lower().rstrip(".")
    return mail == signer or mail.endswith("." + signer) or signer.endswith("." + mail)


def sign_all(message: bytes, keys: Sequence[DkimKey], now: float | None = None) -> bytes:
    """Return ``message`` with one DKIM-Signature per key in front (none: unchanged)."""
    for key in keys:
        message = sign(message, key, now)
    return message


def public_record(key: DkimKey) -> str:
    """The DNS TXT record to publish at ``selector._domainkey.domain``."""
    public = key.private_key.public_key()
    if isinstance(public, ed25519.Ed25519PublicKey):
        raw = public.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
        return f"v=DKIM1; k=ed25519; p={base64.b64encode(raw).decode()}"
    der = public.public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    return f"v=DKIM1; k=rsa; p={base64.b64encode(der).decode()}"


#: A DNS character-string holds at most 255 octets (RFC 1035 3.3); a TXT record holds several,
#: which resolvers join without a separator (RFC 6376 3.6.2.2).
DNS_STRING_MAX = 255


def zone_entry(key: DkimKey) -> str:
    """The record as a zone file line, its text cut into strings a zone file accepts.

    An RSA-2048 record is about 410 octets: as one quoted string, BIND and most DNS
    providers' import refuse it.
    """
    record = public_record(key)
    strings = [record[i : i + DNS_STRING_MAX] for i in range(0, len(record), DNS_STRING_MAX)]
    quoted = " ".join(f'"{part}"' for part in strings)
    return f"{key.selector}._domainkey.{key.domain}. IN TXT ( {quoted} )"


def sign(message: bytes, key: DkimKey, now: float | None = None) -> bytes:
    """Return ``message`` with a DKIM-Signature header in front.

    :param message: the whole message, CRLF line ends, headers then a blank line
    """
    head, body = message.split(b"\r\n\r\n", 1)
    headers = _headers_to_sign(head)
    names = b":".join(name for name, _ in headers)
    body_hash = base64.b64encode(hashlib.sha256(_simple_body(body)).digest())
    value = (
        f"v=1; a={key.algorithm}; c=relaxed/simple; d={key.domain}; s={key.selector}; "
        f"t={int(time.time() if now is None else now)}; h={names.decode()}; "
        f"bh={body_hash.decode()}; b="
    ).encode()
    signed = b"".join(_relaxed(name, raw) for name, raw in headers)
    signed += _relaxed(b"dkim-signature", value).rstrip(b"\r\n")
    signature = base64.b64encode(_signature(key, signed))
    return _fold(b"DKIM-Signature: " + value + signature) + b"\r\n" + message


def _headers_to_sign(head: bytes) -> list[tuple[bytes, bytes]]:
    """(lower-case name, raw value) of the signed headers present, in signing order."""
    found: dict[bytes, bytes] = {}
    for line in _FOLD.sub(b"", head).split(b"\r\n"):
        name, _, value = line.partition(b":")
        lowered = name.strip().lower()
        if lowered.decode("ascii", "replace") in SIGNED_HEADERS:
            found[lowered] = value  # the last instance is the one verifiers pick first
    return [
        (name.encode(), found[name.encode()]) for name in SIGNED_HEADERS if name.encode() in found
    ]


def _relaxed(name: bytes, value: bytes) -> bytes:
    """RFC 6376 3.4.2: lower-case name, unfolded value with white space runs squeezed."""
    squeezed = _WSP_RUN.sub(b" ", _FOLD.sub(b"", value)).strip(b" \t")
    return name + b":" + squeezed + b"\r\n"


def _simple_body(body: bytes) -> bytes:
    """RFC 6376 3.4.3: the body with trailing empty lines reduced to one CRLF."""
    stripped = body.rstrip(b"\r\n")
    return stripped + b"\r\n" if stripped else b"\r\n"


def _signature(key: DkimKey, data: bytes) -> bytes:
    if isinstance(key.private_key, ed25519.Ed25519PrivateKey):
        # RFC 8463: Ed25519 signs the SHA-256 digest of the canonicalised data.
        return key.private_key.sign(hashlib.sha256(data).digest())
    return key.private_key.sign(data, padding.PKCS1v15(), hashes.SHA256())


def _fold(header: bytes, width: int = 76) -> bytes:
    """Fold at ``width``: at the spaces between tags, and anywhere in b= (RFC 6376 3.5).

    The signature covers this header with b= empty in relaxed form, where a fold at
    an existing space changes nothing; a fold inside h= would add a space, so the
    (long) h= stays on one line.
    """
    lines: list[bytes] = []
    current = b""
    for token in _fold_tokens(header):
        if current and len(current) + len(token) > width:
            lines.append(current)
            current = b" " + token.lstrip(b" ")
        else:
            current += token
    lines.append(current)
    return b"\r\n".join(lines)


def _fold_tokens(header: bytes) -> list[bytes]:
    """Pieces between which folding white space is allowed."""
    tokens: list[bytes] = []
    for index, part in enumerate(header.split(b" ")):
        prefix = b" " if index else b""
        if part.startswith(b"b=") and len(part) > 60:
            tokens += [prefix + part[:60]] + [part[i : i + 60] for i in range(60, len(part), 60)]
        else:
            tokens.append(prefix + part)
    return tokens
