"""RFC 5965 feedback reports: a mailbox provider telling us someone pressed "spam".

A report is a ``multipart/report; report-type=feedback-report`` with a
human-readable part, a ``message/feedback-report`` part of fields
(``Feedback-Type``, ``Original-Mail-From``, ``Original-Rcpt-To``, ...) and the
original message or its headers. Providers often redact the recipient, so what
identifies the person is what we signed: the VERP address in
``Original-Mail-From`` or in the enclosed ``Return-Path``, and the unsubscribe
mailto in the enclosed ``List-Unsubscribe``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from email.message import Message

from dispatcher.bounces.mailparts import (
    bare_address,
    enclosed_original,
    field_blocks,
    header_text,
    header_values,
)

REPORT_TYPE = "message/feedback-report"
#: Feedback types that mean "this person does not want this mail" (RFC 5965 section 7.3).
COMPLAINT_TYPES = frozenset({"abuse", "fraud"})

_MAILTO = re.compile(r"<mailto:([^>?]+)", re.IGNORECASE)


@dataclass(frozen=True)
class FeedbackReport:
    """The fields of a feedback report that tell who and what it is about."""

    feedback_type: str
    user_agent: str
    original_mail_from: str
    original_rcpt_to: tuple[str, ...]
    enclosed_return_path: str
    enclosed_unsubscribe: tuple[str, ...]  # mailto addresses of the enclosed List-Unsubscribe

    @property
    def is_complaint(self) -> bool:
        return self.feedback_type in COMPLAINT_TYPES

    @property
    def candidates(self) -> tuple[str, ...]:
        """Addresses that may carry our signed tokens, most specific first."""
        found = [self.original_mail_from, self.enclosed_return_path, *self.enclosed_unsubscribe]
        return tuple(a for a in found if a)


def feedback_report(msg: Message) -> FeedbackReport | None:
    """The message's feedback report, or None when it holds none."""
    fields = _report_fields(msg)
    if fields is None:
        return None
    original = enclosed_original(msg)
    return FeedbackReport(
        feedback_type=header_text(fields, "Feedback-Type").lower().split(" ")[0],
        user_agent=header_text(fields, "User-Agent"),
        original_mail_from=bare_address(header_text(fields, "Original-Mail-From")),
        original_rcpt_to=tuple(
            bare_address(v) for v in header_values(fields, "Original-Rcpt-To") if v
        ),
        enclosed_return_path=bare_address(header_text(original, "Return-Path"))
        if original is not None
        else "",
        enclosed_unsubscribe=_unsubscribe_mailtos(original),
    )


def _report_fields(msg: Message) -> Message | None:
    for part in msg.walk():
        if part.get_content_type() == REPORT_TYPE:
            blocks = field_blocks(part)
            return blocks[0] if blocks else None
    return None


def _unsubscribe_mailtos(original: Message | None) -> tuple[str, ...]:
    if original is None:
        return ()
    return tuple(_MAILTO.findall(header_text(original, "List-Unsubscribe")))
