"""Automatic replies: vacation and out-of-office messages, which are not bounces.

Mail clients answer the envelope sender (our VERP address) or the From, so these
arrive alongside the bounces. RFC 3834 says they should carry ``Auto-Submitted:
auto-replied``, but so do Exim's and Postfix's bounces; that header therefore only
decides when nothing else in the message looks like a failure
(:func:`auto_submitted`). The stronger signs, checked before the bounce
heuristics, are the vendor headers and the usual subjects, in the languages our
readers write in.
"""

from __future__ import annotations

import re
from email.message import Message

from dispatcher.bounces.mailparts import header_text

_VENDOR_HEADERS = ("X-Autoreply", "X-Autorespond", "X-Autoresponder", "X-Vacation")
_SUBJECT = re.compile(
    r"out of (?:the )?office|\booo\b|automatic reply|auto[- ]?reply|auto[- ]?respon"
    r"|risposta automatica|autorisposta|fuori sede|fuori ufficio|\bassente\b|\bin ferie\b"
    r"|vacation|abwesenheit|automatische antwort|r[ée]ponse automatique|absent du bureau"
    r"|respuesta autom[áa]tica|fuera de la oficina",
    re.IGNORECASE,
)
# Subjects of failure notices that quote the subject of an auto-reply they bounced.
_FAILURE_SUBJECT = re.compile(
    r"undeliver|delivery (?:status|fail|notif|report|problem)|returned mail|failure notice"
    r"|mail delivery|not delivered|non recapitat|mancato recapito|unzustellbar|non remis",
    re.IGNORECASE,
)


def auto_reply_reason(msg: Message) -> str | None:
    """Why the message is plainly an automatic reply, or None."""
    for name in _VENDOR_HEADERS:
        if name in msg:
            return f"{name} header"
    precedence = header_text(msg, "Precedence").lower()
    if precedence == "auto_reply":
        return "Precedence: auto_reply"
    subject = header_text(msg, "Subject")
    if _SUBJECT.search(subject) and not _FAILURE_SUBJECT.search(subject):
        return f"subject {subject[:80]!r}"
    return None


def auto_submitted(msg: Message) -> str | None:
    """The RFC 3834 Auto-Submitted value when it says the message was automatic."""
    value = header_text(msg, "Auto-Submitted").lower()
    return value if value and not value.startswith("no") else None
