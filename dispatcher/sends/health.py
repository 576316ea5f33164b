"""What the alerts read of the open sends: their last progress and the relay's hold.

The console shows a send's counts and rate; an alert needs figures that stay put
when nothing happens: how long ago a running send last moved, and whether the
relay is holding it back. One query over the sends not over yet and their batch
rows (a few thousand at most per send, by the ``(send_id, state)`` index).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from dispatcher.models import Batch, Send, SendState

_WATCHED = (SendState.RUNNING.value, SendState.PAUSED.value)


@dataclass(frozen=True)
class SendHealth:
    """One running or paused send, as the alerting rules see it."""

    send_id: int
    state: str
    #: Seconds since a batch of the send last finished, or since the send started when
    #: none has yet. Not the batches' ``touched_at``: the reconciler touches the batches
    #: of a send that nobody delivers (enqueued again, leases expired), which is no
    #: progress at all.
    progress_seconds_ago: float
    #: Relay connections that failed in a row (0 once a message goes through).
    relay_failures: int
    #: Seconds the send is still held back, by the relay or a sending limit (0: not held).
    held_seconds: float


def open_send_health(session: Session, now: dt.datetime) -> list[SendHealth]:
    """The health figures of every running or paused send, oldest send first."""
    query = (
        select(Send, func.max(Batch.finished_at))
        .outerjoin(Batch, Batch.send_id == Send.id)
        .where(Send.state.in_(_WATCHED))
        .group_by(Send.id)
        .order_by(Send.id)
    )
    return [_health(send, now, finished) for send, finished in session.execute(query)]


def _health(send: Send, now: dt.datetime, finished: dt.datetime | None) -> SendHealth:
    moments = [_aware(t) for t in (send.started_at, finished) if t is not None]
    last = max(moments, default=now)
    held = 0.0 if send.hold_until is None else (_aware(send.hold_until) - now).total_seconds()
    return SendHealth(
        send_id=send.id,
        state=send.state,
        progress_seconds_ago=max(0.0, (now - last).total_seconds()),
        relay_failures=send.relay_failures,
        held_seconds=max(0.0, held),
    )


def _aware(value: dt.datetime) -> dt.datetime:
    return value if value.tzinfo else value.replace(tzinfo=dt.UTC)
