"""Returned mail for tests, as relays, feedback loops and mail clients write it.

DSNs (RFC 3464), feedback reports (RFC 5965), out-of-office answers (RFC 3834) and
List-Unsubscribe mails, built around a message the dispatcher sent.
"""

from __future__ import annotations

import email
import email.policy
from email.message import EmailMessage, Message
from email.mime.base import MIMEBase
from email.mime.message import MIMEMessage
from email.mime.multipart import MIMEMultipart
from email.mime.text import MIMEText


def build_dsn(
    original: bytes,
    *,
    to: str,
    recipient: str,
    action: str = "failed",
    status: str = "5.1.1",
    diagnostic: str = "smtp; 550 5.1.1 <{rcpt}>: Recipient address rejected: User unknown",
    message_id: str = "<dsn.1@relay.example.net>",
) -> bytes:
    """An RFC 3464 DSN as Postfix writes it, returning ``original`` (headers only) to ``to``."""
    report = MIMEMultipart("report", report_type="delivery-status")
    _envelope(report, "MAILER-DAEMON@relay.example.net", to, _dsn_subject(action), message_id)
    report["Auto-Submitted"] = "auto-replied"
    report.attach(MIMEText(f"I'm sorry to have to inform you that your message to\n{recipient}\n"))
    report.attach(_delivery_status(recipient, action, status, diagnostic.format(rcpt=recipient)))
    headers = original.split(b"\r\n\r\n", 1)[0].decode()
    report.attach(MIMEText(headers + "\n", "rfc822-headers"))
    return report.as_bytes(policy=email.policy.SMTP)


def build_arf(
    original: bytes,
    *,
    to: str,
    mail_from: str | None,
    feedback_type: str = "abuse",
    message_id: str = "<arf.1@fbl.example.net>",
) -> bytes:
    """An RFC 5965 feedback report enclosing ``original``, with the recipient redacted."""
    report = MIMEMultipart("report", report_type="feedback-report")
    _envelope(report, "feedback@fbl.example.net", to, "Complaint about message", message_id)
    report.attach(MIMEText("This is an email abuse report for an email message received.\n"))
    fields = [f"Feedback-Type: {feedback_type}", "User-Agent: ExampleFBL/1.0", "Version: 1"]
    fields += [f"Original-Mail-From: <{mail_from}>"] if mail_from else []
    fields += ["Original-Rcpt-To: <redacted@example.org>", "Arrival-Date: 6 Dec 2024 10:00 +0000"]
    part = MIMEBase("message", "feedback-report")
    part.set_payload("\n".join(fields) + "\n")
    report.attach(part)
    report.attach(MIMEMessage(email.message_from_bytes(original)))
    return report.as_bytes(policy=email.policy.SMTP)


def build_auto_reply(to: str, subject: str = "Risposta automatica: Cronache n. 44") -> bytes:
    """An Outlook-style out-of-office answer."""
    msg = EmailMessage()
    _envelope(msg, "lettore@example.org", to, subject, "<ooo.1@example.org>")
    msg["Auto-Submitted"] = "auto-replied"
    msg.set_content("Sono fuori sede fino al 9 dicembre, con accesso limitato alla posta.\n")
    return msg.as_bytes(policy=email.policy.SMTP)


def build_unsubscribe_mail(to: str, sender: str = "reader@example.org") -> bytes:
    """What a mail client sends to a List-Unsubscribe mailto."""
    msg = EmailMessage()
    _envelope(msg, sender, to, "unsubscribe", "<unsub.1@example.org>")
    msg.set_content("unsubscribe\n")
    return msg.as_bytes(policy=email.policy.SMTP)


def _envelope(msg: Message, sender: str, to: str, subject: str, message_id: str) -> None:
    msg["From"], msg["To"], msg["Subject"] = sender, to, subject
    msg["Message-ID"], msg["Date"] = message_id, "Fri, 06 Dec 2024 10:05:00 +0000"


def _dsn_subject(action: str) -> str:
    return "Delayed Mail (still being retried)" if action == "delayed" else "Undelivered Mail"


def _delivery_status(recipient: str, action: str, status: str, diagnostic: str) -> MIMEBase:
    part = MIMEBase("message", "delivery-status")
    per_message = Message()
    per_message["Reporting-MTA"] = "dns; relay.example.net"
    per_recipient = Message()
    per_recipient["Final-Recipient"] = f"rfc822; {recipient}"
    per_recipient["Original-Recipient"] = f"rfc822;{recipient}"
    per_recipient["Action"], per_recipient["Status"] = action, status
    per_recipient["Diagnostic-Code"] = diagnostic
    part.attach(per_message)
    part.attach(per_recipient)
    return part
