"""RFC 3464 delivery status notifications, and hard/soft from status codes.

A DSN is a ``multipart/report`` whose ``message/delivery-status`` part holds one
block of fields per recipient: ``Final-Recipient``, ``Original-Recipient``,
``Action`` (failed, delayed, delivered, relayed, expanded), ``Status`` (an RFC
3463 enhanced code such as ``5.1.1``) and ``Diagnostic-Code`` (usually the remote
server's SMTP reply). Servers get the syntax wrong in many small ways, so the
fields are looked for in any block, wherever the report part sits.

Only ``failed`` means the message did not arrive. A ``delayed`` block (Postfix
sends one when a message has waited hours in its queue, with ``Will-Retry-Until``)
and ``delivered``, ``relayed`` or ``expanded`` are notices (:func:`notices`): they
are recorded and shown, never counted as bounces. A delayed message that finally
fails comes back once more as ``failed``.

Hard or soft for a failure, in this order: a specific enhanced code from
``Status``; then the ``Diagnostic-Code`` text (see :func:`severity_from_text`);
then a generic ``Status`` (``5.0.0``); then the action.
"""

from __future__ import annotations

import re
from email.message import Message

from dispatcher.bounces.mailparts import bare_address, field_blocks, header_text
from dispatcher.bounces.verdict import Failure, RecipientStatus, Severity

REPORT_TYPES = ("message/delivery-status", "message/global-delivery-status")

# Enhanced status codes (RFC 3463) of failures, class.subject.detail: 4 or 5 only,
# as "2.0.12" in free text is more often a version than a success. The
# look-arounds keep longer version numbers and the tails of IP addresses out.
_ENHANCED = re.compile(r"(?<![\d.])([45])\.(\d{1,3})\.(\d{1,3})(?![\d.])")
# An SMTP reply code where a reply is quoted: at the start or after a separator.
_SMTP_CODE = re.compile(r"(?:^|[\s;:(\[])([245]\d\d)(?=[\s\-]|$)")
# Full mailboxes and size limits look permanent to many servers (552, 5.x.x) but
# say nothing against the address: the mailbox empties, the next edition is smaller.
_SOFT_WORDS = re.compile(
    r"quota|(?:mailbox|mail ?folder|inbox) (?:is )?full|mailbox size"
    r"|insufficient (?:disk )?(?:space|storage)"
    r"|disk space|casella (?:di posta )?piena|spazio (?:su disco )?esaurito"
    r"|message (?:is )?too (?:large|big)|maximum (?:incoming |inbound )?message size",
    re.IGNORECASE,
)
# Permanent codes that say nothing against the address: mailbox full (x.2.2),
# message too big (x.3.4), delivery time expired (x.4.7), and every x.7.x
# (policy and security: spam filters, blocklists, DMARC), which is about us.
_SOFT_PERMANENT = {("2", "2"), ("3", "4"), ("4", "7")}
#: RFC 3464 actions that do not mean the message failed: it is waiting, or went on.
NOTICE_ACTIONS = ("delayed", "delivered", "relayed", "expanded")


def is_dsn(msg: Message) -> bool:
    """Whether the message holds a delivery-status part."""
    return any(part.get_content_type() in REPORT_TYPES for part in msg.walk())


def recipient_statuses(msg: Message) -> list[RecipientStatus]:
    """Every recipient block of every delivery-status part, in order."""
    found: list[RecipientStatus] = []
    for part in msg.walk():
        if part.get_content_type() in REPORT_TYPES:
            found += [s for b in field_blocks(part) if (s := _recipient(b)) is not None]
    return found


def failures(msg: Message) -> list[Failure]:
    """The failed recipients of a DSN, classified hard or soft."""
    result: list[Failure] = []
    seen: set[str] = set()
    for status in recipient_statuses(msg):
        severity = severity_of(status)
        if severity is not None and status.address.lower() not in seen:
            seen.add(status.address.lower())  # some servers repeat a block per attempt
            code = enhanced_code(status.status or "") or enhanced_code(status.diagnostic)
            why = status.diagnostic or status.status or status.action  # e.g. "5.0.0 (quota)"
            result.append(Failure(status.address, severity, code, why))
    return result


def notices(msg: Message) -> list[RecipientStatus]:
    """The recipients of a DSN that were delayed, delivered, relayed or expanded."""
    result: list[RecipientStatus] = []
    seen: set[tuple[str, str]] = set()
    for status in recipient_statuses(msg):
        key = (status.address.lower(), status.action.lower())
        if key[1].startswith(NOTICE_ACTIONS) and key not in seen:
            seen.add(key)  # some servers repeat a block per attempt
            result.append(status)
    return result


def severity_of(status: RecipientStatus) -> Severity | None:
    """Hard, soft, or None for a recipient whose message did not fail (or cannot be judged)."""
    action = status.action.lower()
    if action.startswith(NOTICE_ACTIONS):
        return None  # a delay is still being retried: not a failure, whatever its code
    field = status.status or ""
    code = enhanced_code(field)
    if code is not None and not code.endswith(".0.0"):
        return severity_of_code(code)
    judged = severity_from_text(status.diagnostic) or severity_from_text(field)
    if judged is not None:
        return judged
    if action.startswith(("fail", "error")):  # "error": OpenSMTPD's non-standard action
        return Severity.HARD
    return None


def severity_from_text(text: str, *, smtp_codes: bool = True) -> Severity | None:
    """Hard or soft from a server's words: full mailbox or size, enhanced code, SMTP code.

    :param smtp_codes: also judge by a bare three-digit reply code (reliable in a
        Diagnostic-Code field, not in free prose, where numbers mean anything)
    """
    if not text:
        return None
    if _SOFT_WORDS.search(text):
        return Severity.SOFT
    code = enhanced_code(text)
    if code is not None:
        return severity_of_code(code)
    reply = _SMTP_CODE.search(text) if smtp_codes else None
    if reply is None:
        return None
    value = int(reply.group(1))
    if value >= 500 and value != 552:  # 552: "exceeded storage allocation"
        return Severity.HARD
    return Severity.SOFT if value >= 400 else None


def severity_of_code(code: str) -> Severity:
    """Hard or soft for an enhanced status code (class 4 or 5)."""
    klass, subject, detail = code.split(".")
    if klass == "4" or subject == "7" or (subject, detail) in _SOFT_PERMANENT:
        return Severity.SOFT
    return Severity.HARD


def enhanced_code(text: str) -> str | None:
    """The first RFC 3463 enhanced status code of a failure (4.x.x or 5.x.x) in ``text``."""
    match = _ENHANCED.search(text)
    return ".".join(match.groups()) if match else None


def _recipient(block: Message) -> RecipientStatus | None:
    original = bare_address(header_text(block, "Original-Recipient"))
    final = bare_address(header_text(block, "Final-Recipient"))
    # The original recipient is the address we sent to; the final one may be an alias's target.
    address = original if "@" in original else final or original
    action, status = header_text(block, "Action"), header_text(block, "Status")
    if not address or not (action or status):  # a per-message block, or nothing usable
        return None
    diagnostic = header_text(block, "Diagnostic-Code")
    kind, sep, rest = diagnostic.partition(";")
    if sep and " " not in kind.strip():
        diagnostic = rest.strip()  # drop the "smtp;" diagnostic type
    retry_until = header_text(block, "Will-Retry-Until")
    return RecipientStatus(address, action.lower(), status or None, diagnostic, retry_until)
