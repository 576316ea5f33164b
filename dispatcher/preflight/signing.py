"""Will receivers trust the sender? DKIM configured, and aligned with the From domain.

Gmail and Yahoo ask bulk senders for DKIM with DMARC alignment: a signature by another
domain than the From's does not count for DMARC, and an unsigned newsletter leans on SPF
alone, which forwarding breaks.
"""

from __future__ import annotations

from dispatcher.message.dkim import aligned
from dispatcher.preflight.findings import PreflightReport

WHERE = "headers (DKIM)"
RELAY_SCHEMES = ("smtp://", "smtps://")


def check_signing(
    from_address: str, dkim_domain: str | None, signing: bool, relay_url: str | None
) -> PreflightReport:
    """Warn when mail to a real relay goes out unsigned; refuse a signature that cannot align.

    :param from_address: the newsletter's From address
    :param dkim_domain: DKIM_DOMAIN, if set
    :param signing: whether DKIM keys are configured
    :param relay_url: SMTP_URL: an outbox folder needs no signature
    """
    report = PreflightReport()
    from_domain = from_address.rsplit("@", 1)[-1]
    if not signing or not dkim_domain:
        if (relay_url or "").startswith(RELAY_SCHEMES):
            report.warn(
                "dkim.unsigned",
                "messages will go out without a DKIM signature, which Gmail and Yahoo require"
                " of bulk senders: set DKIM_DOMAIN, DKIM_SELECTOR and DKIM_KEY_FILE",
                WHERE,
            )
    elif not aligned(from_domain, dkim_domain):
        report.error(
            "dkim.alignment",
            f"messages are signed by {dkim_domain} but sent From {from_domain}: DMARC ignores"
            " the signature. Use a DKIM_DOMAIN that is the From domain or a parent of it",
            WHERE,
            signed_by=dkim_domain,
            sender=from_domain,
        )
    return report
