"""What a returned message is: a bounce (hard or soft), a notice, a complaint, an auto-reply...

A notice is a delay warning (or an RFC 3464 report of delivery, relay or
expansion): the message has not failed, so it is no bounce.

The order matters and is the module's contract:

1. an RFC 5965 feedback report is a complaint (or nothing, for other feedback types);
2. an RFC 3464 DSN is read with :mod:`~dispatcher.bounces.dsn`, codes and all;
3. the plain signs of an automatic reply (vendor headers, out-of-office subjects);
4. flufl.bounce's detectors, for the many servers that write failures as prose:
   they find addresses and tell delays (notices) from failures, and the failure's text is
   searched for an enhanced code or a full mailbox to refine hard into soft;
5. finally ``Auto-Submitted``, which bounces carry too and so decides last.

Pure: it reads a parsed message and returns a :class:`Verdict`.
"""

from __future__ import annotations

import re
from email.message import Message

from flufl.bounce import all_failures

from dispatcher.bounces import dsn
from dispatcher.bounces.arf import FeedbackReport, feedback_report
from dispatcher.bounces.autoreply import auto_reply_reason, auto_submitted
from dispatcher.bounces.mailparts import subparts, text_of
from dispatcher.bounces.verdict import Failure, Nature, RecipientStatus, Severity, Verdict
from dispatcher.errors import BounceError

NOTIFICATION_CHARS = 8000  # enough for any server's explanation, not the newsletter after it
_ENCLOSED = ("message/rfc822", "text/rfc822-headers", "message/rfc822-headers")
# Where servers start quoting the returned message: the newsletter's own words,
# which must not be searched for "quota" or status codes.
_ORIGINAL_STARTS = re.compile(
    r"^[\s>-]*(?:below this line is a copy|this is a copy of|[-\s]*original message"
    r"|returned message|unsent message|the original message|forwarded message"
    r"|message (?:headers?|text) follows|undelivered message)|^(?:Received|Return-Path):",
    re.IGNORECASE | re.MULTILINE,
)
_TAG = re.compile(r"<[^>]+>")


def classify(msg: Message) -> Verdict:
    """Say what a returned message is.

    :raises BounceError: when a bounce detector fails on the message's content
    """
    report = feedback_report(msg)
    if report is not None:
        return _from_report(report)
    if dsn.is_dsn(msg):
        found = _verdict(dsn.failures(msg), dsn.notices(msg), "dsn")
        if found is not None:
            return found
        if dsn.recipient_statuses(msg):
            return Verdict(Nature.OTHER, parser="dsn", reason="a DSN reporting no failure")
    reason = auto_reply_reason(msg)
    if reason is not None:
        return Verdict(Nature.AUTO_REPLY, parser="autoreply", reason=reason)
    found = _verdict(*fallback_failures(msg), "fallback")
    if found is not None:
        return found
    submitted = auto_submitted(msg)
    if submitted is not None:
        return Verdict(Nature.AUTO_REPLY, parser="autoreply", reason=f"Auto-Submitted: {submitted}")
    return Verdict(Nature.OTHER, reason="no failure, feedback report or automatic reply found")


def _verdict(found: list[Failure], notices: list[RecipientStatus], parser: str) -> Verdict | None:
    """A bounce when anything failed, else a notice when anything was reported, else None."""
    if found:
        return Verdict(Nature.BOUNCE, tuple(found), tuple(notices), parser)
    if notices:
        actions = ", ".join(sorted({n.action for n in notices}))
        return Verdict(Nature.NOTICE, notices=tuple(notices), parser=parser, reason=actions)
    return None


def fallback_failures(msg: Message) -> tuple[list[Failure], list[RecipientStatus]]:
    """Failures (hard or soft) and delay warnings that flufl.bounce's detectors find.

    flufl returns addresses as bytes in two sets, delays and failures, without codes.

    :raises BounceError: when a detector raises on the message
    """
    try:
        temporary, permanent = all_failures(msg)
    except Exception as exc:  # third-party heuristics over arbitrary input: any bug is "unparsable"
        raise BounceError(f"the bounce detectors failed: {exc!r}") from exc
    text = notification_text(msg)
    judged = dsn.severity_from_text(text, smtp_codes=False) or Severity.HARD
    code = dsn.enhanced_code(text)
    delayed = [_delay(a, text) for a in sorted(temporary)]
    return [_failure(a, judged, code, text) for a in sorted(permanent - temporary)], delayed


def notification_text(msg: Message) -> str:
    """The server's own explanation: the text parts, without the returned original."""
    chunks: list[str] = []
    _collect_text(msg, chunks)
    text = "\n".join(chunks)
    cut = _ORIGINAL_STARTS.search(text)
    return (text[: cut.start()] if cut else text)[:NOTIFICATION_CHARS]


def _collect_text(part: Message, chunks: list[str]) -> None:
    kind = part.get_content_type()
    if kind in _ENCLOSED:
        return
    if part.is_multipart():
        for sub in subparts(part):
            _collect_text(sub, chunks)
    elif kind == "text/plain":
        chunks.append(text_of(part))
    elif kind == "text/html":
        chunks.append(_TAG.sub(" ", text_of(part)))


def _failure(raw: bytes, severity: Severity, code: str | None, text: str) -> Failure:
    address = raw.decode("ascii", "replace")
    return Failure(address, severity, code, _line_about(address, text))


def _delay(raw: bytes, text: str) -> RecipientStatus:
    address = raw.decode("ascii", "replace")
    return RecipientStatus(address, "delayed", dsn.enhanced_code(text), _line_about(address, text))


def _line_about(address: str, text: str) -> str:
    """The line of the explanation that names the address, and the one after it."""
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    for index, line in enumerate(lines):
        if address.lower() in line.lower():
            return " ".join(lines[index : index + 2])[:500]
    return " ".join(lines[:2])[:500]


def _from_report(report: FeedbackReport) -> Verdict:
    if not report.is_complaint:
        reason = f"feedback report of type {report.feedback_type or 'unknown'!r}"
        return Verdict(Nature.OTHER, parser="arf", reason=reason)
    rcpts = ", ".join(report.original_rcpt_to) or "(recipient redacted)"
    agent = report.user_agent or "unknown agent"
    reason = f"{report.feedback_type} report from {agent} for {rcpts}"
    return Verdict(Nature.COMPLAINT, parser="arf", reason=reason, candidates=report.candidates)
