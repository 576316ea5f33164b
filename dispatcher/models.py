"""Editions, sends, their batches and the delivery ledger.

The ``deliveries`` table is the truth about every message: one row per
(send, subscriber), whose status moves ``queued -> sending -> sent | deferred |
failed | uncertain``, ``skipped`` for people suppressed or gone at send time, and
later ``bounced`` or ``complained``. ``batches`` cuts a send's ledger into id
ranges that one task claims at a time and keeps per-status counts of its rows, so
progress is read without a GROUP BY over a million rows.
"""

from __future__ import annotations

import base64
import datetime as dt
import enum
import secrets
from typing import Any

from sqlalchemy import (
    BigInteger,
    CheckConstraint,
    ForeignKey,
    Index,
    String,
    Text,
    UniqueConstraint,
    false,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column

from dispatcher.import_jobs_table import ImportJob as ImportJob  # registers the table
from dispatcher.import_jobs_table import ImportState as ImportState
from subscribers.orm import Base, BigId, intpk, status_values, timestamp


class DeliveryStatus(enum.StrEnum):
    QUEUED = "queued"
    SENDING = "sending"
    SENT = "sent"
    DEFERRED = "deferred"
    FAILED = "failed"
    SKIPPED = "skipped"
    UNCERTAIN = "uncertain"
    BOUNCED = "bounced"
    COMPLAINED = "complained"


#: Rows still to be settled: a send is finished only when none is left in these.
ACTIVE_STATUSES = (DeliveryStatus.QUEUED, DeliveryStatus.SENDING, DeliveryStatus.DEFERRED)
ACTIVE_SQL = "status IN ('queued', 'sending', 'deferred')"
DUE_SQL = "status IN ('sending', 'deferred')"  # rows with a due_at: lease or next attempt
PROBLEM_SQL = "status IN ('failed', 'uncertain', 'bounced', 'complained')"


class SendState(enum.StrEnum):
    SCHEDULED = "scheduled"  # waiting for scheduled_at
    RUNNING = "running"  # ledger written, batches being delivered
    PAUSED = "paused"  # workers stop at the next group; resumable
    CANCELLED = "cancelled"  # rows not yet sent are skipped
    FINISHED = "finished"  # no row queued, sending or deferred


class BatchState(enum.StrEnum):
    PENDING = "pending"  # has rows to deliver, no task enqueued
    ENQUEUED = "enqueued"  # a task is (believed to be) in the broker
    RUNNING = "running"  # a task claimed it
    DONE = "done"  # nothing left to deliver now (may reopen for due deferred rows)


class Edition(Base):
    """One issue of a newsletter: the file as written, its parsed content and compiled output."""

    __tablename__ = "editions"
    __table_args__ = (UniqueConstraint("list_id", "number"),)

    id: Mapped[intpk]
    list_id: Mapped[int] = mapped_column(BigId, ForeignKey("lists.id"))
    number: Mapped[int]
    issue_date: Mapped[dt.date]
    subject: Mapped[str] = mapped_column(String(300))
    source_name: Mapped[str] = mapped_column(String(300))
    source: Mapped[str] = mapped_column(Text)
    content: Mapped[dict[str, Any]]
    content_hash: Mapped[str] = mapped_column(String(64))
    html: Mapped[str] = mapped_column(Text)
    text: Mapped[str] = mapped_column(Text)
    compiled_hash: Mapped[str] = mapped_column(String(64))
    # Approval binds to one compiled edition: approved_hash must equal the current
    # approval hash (compiled output + newsletter settings), or it no longer counts.
    approved_hash: Mapped[str | None] = mapped_column(String(64))
    approved_by: Mapped[str | None] = mapped_column(String(64))
    approved_at: Mapped[dt.datetime | None]
    created_at: Mapped[timestamp]
    updated_at: Mapped[timestamp]

    def __repr__(self) -> str:
        return f"Edition(id={self.id!r}, list_id={self.list_id!r}, number={self.number!r})"


class EditionVariant(Base):
    """An edition compiled for one language and choice of sections, once for every send.

    The whole edition in English is compiled when the edition is stored (an approval
    covers it); the variants by section when a send's audience first needs them.
    """

    __tablename__ = "edition_variants"
    __table_args__ = (UniqueConstraint("edition_id", "key"),)

    id: Mapped[intpk]
    edition_id: Mapped[int] = mapped_column(BigId, ForeignKey("editions.id", ondelete="CASCADE"))
    key: Mapped[str] = mapped_column(String(255))  # see dispatcher.editions.variants
    subject: Mapped[str] = mapped_column(String(300))
    html: Mapped[str] = mapped_column(Text)
    text: Mapped[str] = mapped_column(Text)
    compiled_hash: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[timestamp]

    def __repr__(self) -> str:
        return f"EditionVariant(id={self.id!r}, edition_id={self.edition_id!r}, key={self.key!r})"


def new_message_key() -> str:
    """A send's random Message-ID key: 10 characters of base32, 50 bits."""
    return base64.b32encode(secrets.token_bytes(10)).decode("ascii")[:10].lower()


class Send(Base):
    """An edition going to an audience (one or more lists) at a time."""

    __tablename__ = "sends"
    __table_args__ = (CheckConstraint(f"state IN ({status_values(SendState)})", name="state"),)

    id: Mapped[intpk]
    edition_id: Mapped[int] = mapped_column(BigId, ForeignKey("editions.id"))
    state: Mapped[str] = mapped_column(String(16), default=SendState.SCHEDULED.value)
    scheduled_at: Mapped[dt.datetime]
    started_at: Mapped[dt.datetime | None]
    finished_at: Mapped[dt.datetime | None]
    again: Mapped[bool] = mapped_column(default=False)
    # The relay was unreachable: nothing is dispatched before hold_until.
    hold_until: Mapped[dt.datetime | None]
    relay_failures: Mapped[int] = mapped_column(default=0)
    state_reason: Mapped[str] = mapped_column(Text, default="")
    # normal, late (people who subscribed after a send), correction (to who got the original),
    # dry_run (messages written to outbox_dir; its rows never count as received)
    kind: Mapped[str] = mapped_column(String(16), default="normal", server_default="normal")
    parent_send_id: Mapped[int | None] = mapped_column(BigId, ForeignKey("sends.id"))
    created_by: Mapped[str] = mapped_column(String(64), default="", server_default="")
    # Random, in every message's Message-ID: ids never repeat across databases (NULL: a send
    # made before the column, whose messages keep their old ids).
    message_key: Mapped[str | None] = mapped_column(String(16), default=new_message_key)
    # An admin's recorded reason for sending through a calendar block (par condicio);
    # NULL: the send keeps to the blocks. Also in the audit log ("send.override_block").
    calendar_override: Mapped[str | None] = mapped_column(Text)
    # A dry run's folder: its messages are written there, never to the production transport.
    outbox_dir: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[timestamp]

    def __repr__(self) -> str:
        return f"Send(id={self.id!r}, edition_id={self.edition_id!r}, state={self.state!r})"


class SendList(Base):
    """The lists a send goes to; a person on several of them gets one copy."""

    __tablename__ = "send_lists"

    send_id: Mapped[int] = mapped_column(
        BigId, ForeignKey("sends.id", ondelete="CASCADE"), primary_key=True
    )
    list_id: Mapped[int] = mapped_column(BigId, ForeignKey("lists.id"), primary_key=True)

    def __repr__(self) -> str:
        return f"SendList(send_id={self.send_id!r}, list_id={self.list_id!r})"


class Batch(Base):
    """A range of one send's ledger rows, delivered by one task, with its rows' counts."""

    __tablename__ = "batches"
    __table_args__ = (
        CheckConstraint(f"state IN ({status_values(BatchState)})", name="state"),
        Index("ix_batches_send_state", "send_id", "state"),
    )

    id: Mapped[intpk]
    send_id: Mapped[int] = mapped_column(BigId, ForeignKey("sends.id", ondelete="CASCADE"))
    first_id: Mapped[int] = mapped_column(BigId)
    last_id: Mapped[int] = mapped_column(BigId)
    state: Mapped[str] = mapped_column(String(16), default=BatchState.PENDING.value)
    touched_at: Mapped[dt.datetime | None]  # when the state last changed
    finished_at: Mapped[dt.datetime | None]
    n_queued: Mapped[int] = mapped_column(default=0)
    n_sending: Mapped[int] = mapped_column(default=0)
    n_sent: Mapped[int] = mapped_column(default=0)
    n_deferred: Mapped[int] = mapped_column(default=0)
    n_failed: Mapped[int] = mapped_column(default=0)
    n_skipped: Mapped[int] = mapped_column(default=0)
    n_uncertain: Mapped[int] = mapped_column(default=0)
    n_bounced: Mapped[int] = mapped_column(default=0)
    n_complained: Mapped[int] = mapped_column(default=0)

    def __repr__(self) -> str:
        return f"Batch(id={self.id!r}, send_id={self.send_id!r}, state={self.state!r})"


class Delivery(Base):
    """The ledger: one message to one person for one send, and what the relay answered.

    ``due_at`` is the next attempt time of a deferred row and the lease expiry of a
    row being sent, so one index serves both of the reconciler's questions.
    """

    __tablename__ = "deliveries"
    __table_args__ = (
        # Send first: a send's rows are read together (batches, "did X get edition N" is
        # one probe per send of that edition).
        UniqueConstraint("send_id", "subscriber_id"),
        CheckConstraint(f"status IN ({status_values(DeliveryStatus)})", name="status"),
        # Partial indexes: a row that leaves the active states (sent, the common case)
        # drops out of them, so recording an outcome touches two indexes, not four.
        Index(
            "ix_deliveries_active_send",
            "send_id",
            "status",
            postgresql_where=text(ACTIVE_SQL),
            sqlite_where=text(ACTIVE_SQL),
        ),
        Index(
            "ix_deliveries_active_due",
            "status",
            "due_at",
            postgresql_where=text(DUE_SQL),
            sqlite_where=text(DUE_SQL),
        ),
        Index(
            "ix_deliveries_problems",
            "send_id",
            postgresql_where=text(PROBLEM_SQL),
            sqlite_where=text(PROBLEM_SQL),
        ),
    )

    id: Mapped[intpk]
    send_id: Mapped[int] = mapped_column(BigId, ForeignKey("sends.id", ondelete="CASCADE"))
    # No foreign keys on the person and the list: the ledger is written from their
    # subscriptions in the same statement, and each key checked is a lookup and a row
    # lock per row (a third of the time of a million-row ledger). A person deleted by
    # hand takes their subscriptions along, and the claim skips their row.
    subscriber_id: Mapped[int] = mapped_column(BigId)
    list_id: Mapped[int] = mapped_column(BigId)  # the list through which they get it
    status: Mapped[str] = mapped_column(String(16), default=DeliveryStatus.QUEUED.value)
    attempts: Mapped[int] = mapped_column(default=0)
    due_at: Mapped[dt.datetime | None]
    owner: Mapped[str | None] = mapped_column(String(64))
    smtp_code: Mapped[int | None]
    smtp_reply: Mapped[str | None] = mapped_column(Text)
    message_id: Mapped[str | None] = mapped_column(String(200))
    in_doubt: Mapped[bool] = mapped_column(default=False)  # was uncertain at least once
    # The edition variant the person got (dispatcher/editions/variants.py: language and
    # sections); NULL: the edition as stored, whole, in Italian.
    variant: Mapped[str | None] = mapped_column(String(255))
    created_at: Mapped[timestamp]
    first_attempt_at: Mapped[dt.datetime | None]
    last_attempt_at: Mapped[dt.datetime | None]

    def __repr__(self) -> str:
        return f"Delivery(id={self.id!r}, send_id={self.send_id!r}, status={self.status!r})"


class BounceKind(enum.StrEnum):
    HARD = "hard"  # permanent failure: the subscription is marked bounced
    SOFT = "soft"  # temporary: counted; bounced past the threshold
    COMPLAINT = "complaint"  # ARF feedback report: the person is unsubscribed
    UNSUBSCRIBE = "unsubscribe"  # mail to the List-Unsubscribe mailto address
    NOTICE = "notice"  # a delay (or relay...) notice: shown, changes nothing


class BounceEvent(Base):
    """One bounce, complaint or mailto unsubscribe that came back, and what it concerned."""

    __tablename__ = "bounce_events"
    __table_args__ = (
        CheckConstraint(f"kind IN ({status_values(BounceKind)})", name="kind"),
        Index("ix_bounce_events_delivery", "delivery_id"),
        Index("ix_bounce_events_subscriber", "subscriber_id"),
    )

    id: Mapped[intpk]
    kind: Mapped[str] = mapped_column(String(16))
    delivery_id: Mapped[int | None] = mapped_column(
        BigId, ForeignKey("deliveries.id", ondelete="SET NULL")
    )
    subscriber_id: Mapped[int | None] = mapped_column(
        BigId, ForeignKey("subscribers.id", ondelete="SET NULL")
    )
    list_id: Mapped[int | None] = mapped_column(BigId)
    status_code: Mapped[str | None] = mapped_column(String(16))  # enhanced code, e.g. 5.1.1
    action: Mapped[str | None] = mapped_column(String(16))  # RFC 3464: failed, delayed...
    diagnostic: Mapped[str] = mapped_column(Text, default="")
    source: Mapped[str] = mapped_column(String(32), default="")  # verp, mailto, file name...
    received_at: Mapped[timestamp]

    def __repr__(self) -> str:
        return f"BounceEvent(id={self.id!r}, kind={self.kind!r}, delivery_id={self.delivery_id!r})"


class Role(enum.StrEnum):
    """What an office or IT user may do; ``admin`` may do everything."""

    EDITOR = "editor"  # writes and uploads editions, sends proofs
    APPROVER = "approver"  # approves editions, schedules sends
    OPERATOR = "operator"  # watches and controls sends, the console
    ADMIN = "admin"


class User(Base):
    """A person who logs in to the admin or the console."""

    __tablename__ = "users"
    __table_args__ = (CheckConstraint(f"role IN ({status_values(Role)})", name="role"),)

    id: Mapped[intpk]
    username: Mapped[str] = mapped_column(String(64), unique=True)
    password_hash: Mapped[str] = mapped_column(String(200))
    role: Mapped[str] = mapped_column(String(16))
    created_at: Mapped[timestamp]
    disabled_at: Mapped[dt.datetime | None]
    # The TOTP second factor (dispatcher.office.totp): the base32 secret from enrolment
    # on, enabled once a code confirmed it; the last accepted time step stops reuse.
    totp_secret: Mapped[str | None] = mapped_column(String(64))
    totp_enabled_at: Mapped[dt.datetime | None]
    totp_last_step: Mapped[int | None] = mapped_column(BigInteger)
    # Set when an admin gave a one-time password: the user chooses their own first.
    must_change_password: Mapped[bool] = mapped_column(default=False, server_default=false())
    last_login_at: Mapped[dt.datetime | None]

    def __repr__(self) -> str:
        return f"User(id={self.id!r}, username={self.username!r}, role={self.role!r})"


class WebSession(Base):
    """A login to the admin or the console, kept here so that it can be ended.

    The browser's (signed) cookie holds the session's random key; this row holds its
    SHA-256 only, so the table's contents open no session. Deleting the row ends the
    session for every copy of the cookie.
    """

    __tablename__ = "web_sessions"

    id: Mapped[intpk]
    key_hash: Mapped[str] = mapped_column(String(64), unique=True)
    user_id: Mapped[int] = mapped_column(
        BigId, ForeignKey("users.id", ondelete="CASCADE"), index=True
    )
    created_at: Mapped[timestamp]
    expires_at: Mapped[dt.datetime]

    def __repr__(self) -> str:
        return f"WebSession(id={self.id!r}, user_id={self.user_id!r})"


class AuditEntry(Base):
    """Who did what, when: kept for every change made in the admin or the CLI."""

    __tablename__ = "audit_log"
    __table_args__ = (Index("ix_audit_log_target", "target_type", "target_id"),)

    id: Mapped[intpk]
    at: Mapped[timestamp]
    username: Mapped[str] = mapped_column(String(64))  # kept even if the user is removed
    action: Mapped[str] = mapped_column(String(64))
    target_type: Mapped[str] = mapped_column(String(32), default="")
    target_id: Mapped[int | None] = mapped_column(BigId)
    detail: Mapped[dict[str, Any]] = mapped_column(default=dict)

    def __repr__(self) -> str:
        return f"AuditEntry(id={self.id!r}, action={self.action!r}, username={self.username!r})"


class Image(Base):
    """A picture uploaded for an edition, served from the public URL ``/images/<id>/<name>``."""

    __tablename__ = "images"

    id: Mapped[intpk]
    edition_id: Mapped[int | None] = mapped_column(
        BigId, ForeignKey("editions.id", ondelete="SET NULL")
    )
    filename: Mapped[str] = mapped_column(String(200))
    content_type: Mapped[str] = mapped_column(String(64))
    data: Mapped[bytes]
    width: Mapped[int]
    height: Mapped[int]
    alt: Mapped[str] = mapped_column(Text, default="")
    sha256: Mapped[str] = mapped_column(String(64))
    uploaded_by: Mapped[str] = mapped_column(String(64), default="")
    created_at: Mapped[timestamp]

    def __repr__(self) -> str:
        return f"Image(id={self.id!r}, filename={self.filename!r})"


class CalendarBlock(Base):
    """A period in which no send is scheduled or started (an election's par condicio)."""

    __tablename__ = "calendar_blocks"
    __table_args__ = (CheckConstraint("ends_at > starts_at", name="period"),)

    id: Mapped[intpk]
    starts_at: Mapped[dt.datetime] = mapped_column(index=True)
    ends_at: Mapped[dt.datetime] = mapped_column(index=True)
    reason: Mapped[str] = mapped_column(Text)
    created_by: Mapped[str] = mapped_column(String(64), default="")
    created_at: Mapped[timestamp]

    def __repr__(self) -> str:
        return f"CalendarBlock(id={self.id!r}, starts_at={self.starts_at!r})"


class WorkerHeartbeat(Base):
    """A worker process's last heartbeat, kept here when there is no Redis to hold it.

    One row per process, rewritten in place every heartbeat interval (never per
    message); ``data`` is the same JSON a Redis heartbeat holds. Readers take the
    rows seen within a few intervals; a row of a dead process is removed by the
    next writer on its host or ages out of what readers take.
    """

    __tablename__ = "worker_heartbeats"

    host: Mapped[str] = mapped_column(String(255), primary_key=True)
    pid: Mapped[int] = mapped_column(primary_key=True, autoincrement=False)
    last_seen: Mapped[float] = mapped_column(index=True)  # epoch seconds, as in the JSON
    data: Mapped[str] = mapped_column(Text)


class MonitoringTick(Base):
    """When a periodic job last completed (the beat's reconcile run), without Redis."""

    __tablename__ = "monitoring_ticks"

    name: Mapped[str] = mapped_column(String(64), primary_key=True)
    at: Mapped[float]  # epoch seconds


class EditionClicks(Base):
    """Reach: how many times one link of an edition was followed (nothing about who)."""

    __tablename__ = "edition_clicks"

    edition_id: Mapped[int] = mapped_column(
        BigId, ForeignKey("editions.id", ondelete="CASCADE"), primary_key=True
    )
    # dispatcher.render.reach.link_key of the link: stable whichever variant carried it.
    link_key: Mapped[str] = mapped_column(String(16), primary_key=True)
    clicks: Mapped[int] = mapped_column(BigId, default=0)


class EditionViews(Base):
    """Reach: how many times an edition's web version was opened (nothing about who)."""

    __tablename__ = "edition_views"

    edition_id: Mapped[int] = mapped_column(
        BigId, ForeignKey("editions.id", ondelete="CASCADE"), primary_key=True
    )
    views: Mapped[int] = mapped_column(BigId, default=0)
