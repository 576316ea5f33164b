"""Email addresses as people type them: cleaned, validated and keyed for comparison.

The one rule for what can be sent to, used by the import, the sign-up form and the
sender. An address is stored in one canonical form: the local part as written (NFC),
the domain lower-cased and as an A-label (``xn--bcher-kva.de``, not ``bücher.de``).
Why the A-label: it is what DNS, every relay and an envelope without SMTPUTF8 take,
so an international domain with an ASCII local part (nearly all of them) is plain
ASCII that any relay accepts; the two spellings of one domain are one person; and
SQLite's ``lower()`` and PostgreSQL's agree on ASCII. Only a local part that is not
ASCII (``jöhn@...``) needs the relay to offer SMTPUTF8 (RFC 6531; Postfix does by
default): :func:`needs_smtputf8` says so, and the sender fails the row with a clear
reply where the relay does not.

One person per address whatever its case: the database's unique index is on
``lower(email)``, and the database decides who is the same person
(:func:`subscribers.models.has_address`). :func:`address_key` is Python's key, for
what Python compares on its own (a file's duplicates, the suppression digests); it
agrees with the database on every ASCII address.
"""

from __future__ import annotations

import functools
import re

from email_validator import EmailNotValidError, validate_email

from subscribers.errors import InvalidAddressError

MAX_LENGTH = 254  # RFC 3696 errata / RFC 5321 path limit, as email-validator enforces
# An unquoted ASCII local part (RFC 5322 dot-atom): the case of nearly every address.
_ATOM = r"[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+"
_DOT_ATOM = re.compile(rf"{_ATOM}(?:\.{_ATOM})*")
# Zero-width characters that come along when addresses are pasted from web pages or Word.
_INVISIBLE = "\u200b\u200c\u200d\u2060\ufeff"


def clean(raw: str) -> str:
    """``raw`` without surrounding spaces, invisible characters, ``<...>`` or ``mailto:``."""
    text = raw.translate({ord(c): None for c in _INVISIBLE}).strip()
    if text.startswith("<") and text.endswith(">"):
        text = text[1:-1].strip()
    if text[:7].lower() == "mailto:":
        text = text[7:].strip()
    return text


def normalise(raw: str) -> str:
    """The address in ``raw``, cleaned and in canonical form (domain lower-cased, A-label).

    No DNS query is made: deliverability is learnt from bounces, not guessed.

    :raises InvalidAddressError: if it is not a valid address; the message says why
    """
    text = clean(raw)
    if not text:
        raise InvalidAddressError("no address").coded("address.missing")
    local, at, domain = text.rpartition("@")
    if at and len(text) <= MAX_LENGTH and len(local) <= 64 and _DOT_ATOM.fullmatch(local):
        # Fast path: a plain local part needs no normalising, and the domain's
        # check is the costly part (IDNA), made once per domain in a file.
        return f"{local}@{_domain(domain)}"
    return _validate(text)


@functools.lru_cache(maxsize=4096)
def _domain(domain: str) -> str:
    return _validate(f"postmaster@{domain}").rpartition("@")[2]


def _validate(text: str) -> str:
    try:
        valid = validate_email(text, check_deliverability=False)
    except EmailNotValidError as exc:
        raise InvalidAddressError(str(exc)).coded("address.invalid", address=text) from exc
    return f"{valid.local_part}@{valid.ascii_domain}"


def needs_smtputf8(address: str) -> bool:
    """Whether mail to ``address`` (canonical) can only go through a relay offering SMTPUTF8."""
    return not address.rpartition("@")[0].isascii()


def wire_address(address: str) -> str:
    """``address`` as it goes into RCPT TO and the To: header: the canonical form.

    Addresses stored before the canonical form (an international domain in Unicode)
    are converted here, so they go out too.

    :raises InvalidAddressError: if it is not a valid address
    """
    return address if address.isascii() else normalise(address)


def address_key(email: str) -> str:
    """The key two spellings of one address share, as Python compares them."""
    return email.strip().lower()


#: Anything shaped like an address in free text (a relay's reply, a bounce diagnostic), for
#: scrubbing personal data out of it: loose on purpose, it need not be a valid address.
ANY_ADDRESS = r"""[^][\s<>()",;:@]+@[^][\s<>()",;:@]+"""
#: What stands where an address was scrubbed out of a text kept for the office.
ADDRESS_REMOVED = "<address>"


def without_addresses(text: str) -> str:
    """``text`` with every address-shaped word replaced by :data:`ADDRESS_REMOVED`."""
    return re.sub(ANY_ADDRESS, ADDRESS_REMOVED, text)
