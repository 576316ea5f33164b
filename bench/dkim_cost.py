"""What DKIM signing costs the worker per message, for RSA-2048 and Ed25519.

Signs a message of the seed edition's size (37,453 bytes, the headers a newsletter
carries and a quoted-printable body) with :func:`dispatcher.message.dkim.sign`, and the
signature step alone through ``cryptography``, each the median of 5 rounds of 500.

    .venv/bin/python bench/dkim_cost.py
"""

from __future__ import annotations

import statistics
import sys
import time
from collections.abc import Callable
from functools import partial
from pathlib import Path

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ed25519, padding, rsa

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from dispatcher.message.dkim import DkimKey, sign  # noqa: E402

MESSAGE_BYTES = 37_453
ROUNDS, PER_ROUND = 5, 500


def sample_message(size: int = MESSAGE_BYTES) -> bytes:
    """A newsletter-shaped message of about ``size`` bytes."""
    head = (
        b"Date: Wed, 25 Nov 2026 09:00:00 +0000\r\n"
        b"From: Citta metropolitana di Torino <cronache@example.org>\r\n"
        b"To: Lettore <lettore@example.net>\r\n"
        b"Subject: =?utf-8?q?Cronache_da_Palazzo_Cisterna?=\r\n"
        b"Message-ID: <1.1.dispatch@example.org>\r\n"
        b"List-Id: Cronache <cronache.example.org>\r\n"
        b"List-Unsubscribe: <https://newsletter.example.org/u/0a1b2c>,\r\n"
        b" <mailto:u-0a1b2c@example.org?subject=unsubscribe>\r\n"
        b"List-Unsubscribe-Post: List-Unsubscribe=One-Click\r\n"
        b"MIME-Version: 1.0\r\n\r\n"
    )
    line = b"Il Consiglio metropolitano ha approvato il bilancio di previsione=3D 2027.=\r\n"
    return head + line * ((size - len(head)) // len(line) + 1)


def per_call_us(call: Callable[[], object]) -> float:
    """The median over :data:`ROUNDS` of the mean time of one call, in microseconds."""
    rounds = []
    for _ in range(ROUNDS):
        started = time.perf_counter()
        for _ in range(PER_ROUND):
            call()
        rounds.append((time.perf_counter() - started) / PER_ROUND * 1e6)
    return statistics.median(rounds)


def main() -> None:
    message = sample_message()
    keys = {
        "RSA-2048": rsa.generate_private_key(public_exponent=65537, key_size=2048),
        "Ed25519": ed25519.Ed25519PrivateKey.generate(),
    }
    for label, private in keys.items():
        key = DkimKey("example.org", "bench", private)
        whole = per_call_us(partial(sign, message, key))
        print(
            f"{label}: dkim.sign {whole:,.0f} us a message; "
            f"the signature alone {per_call_us(partial(signature_alone, private)):,.0f} us"
        )


def signature_alone(private: rsa.RSAPrivateKey | ed25519.Ed25519PrivateKey) -> bytes:
    """What OpenSSL's signature costs, without hashing or canonicalising the message."""
    if isinstance(private, ed25519.Ed25519PrivateKey):
        return private.sign(b"x" * 32)  # the SHA-256 digest it signs (RFC 8463)
    return private.sign(b"x" * 600, padding.PKCS1v15(), hashes.SHA256())


if __name__ == "__main__":
    main()
