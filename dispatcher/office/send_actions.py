"""Every send action of the desk, said before it is done, and then done.

Each action has a plan (:class:`SendPlan`): what it would do now (the edition, the
lists, how many people or messages it reaches), read with the same guards as the
action itself, so that a refusal (not approved, a calendar block, already sent)
comes before the confirmation, not after it. The plan's :attr:`SendPlan.binding`
is what a confirmation binds: if it is different when the action is confirmed
(someone subscribed, another send of the edition started), the desk asks again.

Late sends and corrections are made here for the command line and the desk alike:
both start now, so both check the calendar, and both check that the edition they
send is approved in its current version (a correction with an edition nobody
approved is refused).

Services take a session and never commit.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Sequence
from dataclasses import dataclass, replace

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from dispatcher.config import Settings
from dispatcher.errors import NotFoundError, StateError
from dispatcher.models import Edition, Send, SendState
from dispatcher.office import calendar, scheduling
from dispatcher.office.edition_store import get_edition
from dispatcher.office.users import audit
from dispatcher.sends import audience, control, ledger, progress
from subscribers.models import MailingList

#: Actions that start a send to an audience (their confirmation binds the count).
REACHING = ("now", "resend", "late", "correction")
#: Actions on a send that exists (their confirmation binds its state).
CONTROLS = ("retry", "pause", "resume", "cancel")
#: Actions on a send, by the states it may be in for each.
ON_SEND: dict[str, tuple[str, ...]] = {
    "resend": ("finished",),
    "late": ("running", "paused", "finished"),
    "correction": ("running", "paused", "finished", "cancelled"),
    "retry": ("running", "paused", "finished"),
    "pause": ("running",),
    "resume": ("paused",),
    "cancel": ("scheduled", "running", "paused"),
}

#: The reason a pause or cancel from the desk records (pages show it in their language).
DESK_REASON = "{action} from the desk by {actor}"
_DESK_REASON = re.compile(r"^(pause|cancel) from the desk by (.+)$")


def desk_reason(reason: str) -> tuple[str, str] | None:
    """``(action, actor)`` if ``reason`` is one the desk recorded, else None."""
    found = _DESK_REASON.match(reason or "")
    return (found.group(1), found.group(2)) if found else None


#: Sends that the actions reaching people may follow: a late send or a resend of a
#: correction would send the correcting edition to people who never had the original.
FOLLOWED_KINDS = (audience.KIND_NORMAL, audience.KIND_LATE)


def allowed_actions(send: Send) -> dict[str, tuple[str, ...]]:
    """The actions a send of this kind may be given, with the states that allow each."""
    return {
        action: states
        for action, states in ON_SEND.items()
        if action in CONTROLS or send.kind in FOLLOWED_KINDS
    }


@dataclass(frozen=True)
class SendPlan:
    """What an action would do if confirmed now."""

    action: str
    edition: Edition  # the edition the action sends (for a correction: the correcting one)
    newsletter: str  # the newsletter's name
    lists: tuple[str, ...]  # slugs
    count: int  # people reached (REACHING), or messages concerned (CONTROLS)
    send_id: int | None = None  # the send acted on
    state: str = ""  # that send's state
    marker: int = 0  # the latest send of the edition (a new one means: ask again)
    already: tuple[tuple[str, int], ...] = ()  # lists that had the edition, with the send

    @property
    def binding(self) -> str:
        """What a confirmation of this plan must still find true."""
        counted = self.count if self.action in REACHING else "-"
        parts = (self.action, self.send_id, self.edition.id, ",".join(self.lists), counted)
        return "|".join(str(part) for part in (*parts, self.marker, self.state))

    @property
    def possible(self) -> bool:
        """Whether there is anything to confirm (someone to reach, nothing already sent)."""
        return not self.already and (self.count > 0 or self.action in ("pause", "resume"))


def plan_send(
    session: Session,
    settings: Settings,
    edition_id: int,
    slugs: Sequence[str],
    now: dt.datetime,
    *,
    again: bool = False,
    overridden: bool = False,
) -> SendPlan:
    """Send ``edition_id`` to ``slugs`` now (``again``: to those of them who did not get it).

    :raises NotFoundError: if the edition or a list does not exist, or no list is given
    :raises NotApprovedError: if approval is required and the edition is not approved
    :raises CalendarRefusedError: if the calendar refuses now
    """
    edition = get_edition(session, edition_id)
    lists = _lists(session, slugs)
    scheduling.check_sendable(session, edition_id, settings)
    calendar.check_time(session, settings, now, overridden=overridden)
    ids = [m.id for m in lists]
    already = () if again else tuple(audience.earlier_sends(session, edition_id, ids))
    return SendPlan(
        action="resend" if again else "now",
        edition=edition,
        newsletter=_newsletter(session, edition),
        lists=tuple(m.slug for m in lists),
        count=audience.count_audience(session, edition_id, ids),
        marker=_latest_send(session, edition_id),
        already=already,
    )


def plan_on_send(
    session: Session,
    settings: Settings,
    send_id: int,
    action: str,
    now: dt.datetime,
    correcting: int | None = None,
) -> SendPlan:
    """An action on send ``send_id``: one of :data:`ON_SEND`.

    :param correcting: for a correction, the correcting edition
    :raises NotFoundError: if there is no such send or edition, or no such action
    :raises StateError: if the send's state does not allow the action
    :raises NotApprovedError: if the edition to send is not approved
    :raises CalendarRefusedError: if the action starts a send and the calendar refuses now
    """
    send = _send_for(session, send_id, action)
    slugs = ledger.list_slugs(session, [send_id])[send_id]
    if action == "resend":
        again = plan_send(session, settings, send.edition_id, slugs, now, again=True)
        return replace(again, send_id=send.id, state=send.state)
    if action == "correction":
        return _plan_correction(session, settings, send, correcting, now)
    edition = get_edition(session, send.edition_id)
    count, marker = _count_on(session, settings, send, action, slugs), send.id
    if action == "late":
        scheduling.check_sendable(session, edition.id, settings)
        calendar.check_time(session, settings, now)
        marker = _latest_send(session, edition.id)
    return SendPlan(
        action, edition, _newsletter(session, edition), slugs, count, send_id, send.state, marker
    )


def _count_on(
    session: Session, settings: Settings, send: Send, action: str, slugs: Sequence[str]
) -> int:
    if action == "late":
        ids = [m.id for m in _lists(session, slugs)]
        return audience.count_audience(session, send.edition_id, ids, audience.KIND_LATE)
    if action == "retry":
        in_doubt = settings.sending.uncertain_policy == "resend"
        return control.retry_count(session, send.id, in_doubt=in_doubt)
    if send.state == SendState.SCHEDULED.value:  # cancelling before it starts: its audience
        ids = [m.id for m in _lists(session, slugs)]
        return audience.count_audience(session, send.edition_id, ids)
    counts = progress.send_counts(session, send.id)
    return sum(counts[status] for status in ("queued", "deferred", "sending"))


def _plan_correction(
    session: Session, settings: Settings, send: Send, correcting: int | None, now: dt.datetime
) -> SendPlan:
    edition = correction_edition(session, send, correcting)
    scheduling.check_sendable(session, edition.id, settings)
    calendar.check_time(session, settings, now)
    sources = audience.sends_carrying(session, send.edition_id)
    by_send = ledger.list_slugs(session, sources or [send.id])
    slugs = tuple(sorted({slug for found in by_send.values() for slug in found}))
    ids = [m.id for m in _lists(session, slugs)]
    count = audience.count_audience(
        session, edition.id, ids, audience.KIND_CORRECTION, corrected_edition_id=send.edition_id
    )
    marker = max(_latest_send(session, edition.id), _latest_send(session, send.edition_id))
    newsletter = _newsletter(session, edition)
    return SendPlan("correction", edition, newsletter, slugs, count, send.id, send.state, marker)


def correction_edition(session: Session, send: Send, edition_id: int | None) -> Edition:
    """The edition that corrects ``send``: another edition of the same newsletter.

    :raises NotFoundError: if there is no such edition (or none was given)
    :raises StateError: if it is the send's own edition or another newsletter's
    """
    if edition_id is None:
        raise NotFoundError("a correction needs the correcting edition")
    edition = get_edition(session, edition_id)
    original = get_edition(session, send.edition_id)
    if edition.id == original.id or edition.list_id != original.list_id:
        raise StateError(
            f"edition {edition_id} cannot correct send {send.id}: a correction is another "
            "edition of the same newsletter"
        )
    return edition


def correction_choices(session: Session, send_id: int) -> list[Edition]:
    """The editions that could correct send ``send_id``, newest first."""
    edition_id = session.scalar(select(Send.edition_id).where(Send.id == send_id))
    original = get_edition(session, edition_id) if edition_id is not None else None
    if original is None:
        raise NotFoundError(f"no send with id {send_id}")
    query = select(Edition).where(Edition.list_id == original.list_id, Edition.id != original.id)
    return list(session.scalars(query.order_by(Edition.id.desc()).limit(50)))


# -- doing it ----------------------------------------------------------------------------------


def carry_out(
    session: Session,
    settings: Settings,
    plan: SendPlan,
    actor: str,
    now: dt.datetime,
    override: str | None = None,
) -> int:
    """Do what ``plan`` said; a send that starts has its ledger written at once, so that
    :func:`queued` tells how many it reaches (the beat's reconciler dispatches it).

    :param override: an admin's justification for sending through a calendar block
    :returns: the id of the send started or acted on
    :raises: what the services below raise (see the plan functions)
    """
    if plan.action in ("now", "resend"):
        send = scheduling.schedule_send(
            session, plan.edition.id, plan.lists, now, actor=actor, settings=settings, now=now,
            again=plan.action == "resend", override=override,
        )  # fmt: skip
    elif plan.action == "late":
        send = late_send(session, settings, _sent(plan), now, actor)
    elif plan.action == "correction":
        send = correction_send(session, settings, _sent(plan), plan.edition.id, now, actor)
    else:
        return _control(session, settings, plan, actor, now)
    ledger.start_send(session, send.id, now, settings.sending.batch_size)
    return send.id


def queued(session: Session, send_id: int) -> int:
    """How many messages of a send wait to go (right after it started: whom it reaches)."""
    return progress.send_counts(session, send_id)["queued"]


def _control(
    session: Session, settings: Settings, plan: SendPlan, actor: str, now: dt.datetime
) -> int:
    send_id, reason = _sent(plan), DESK_REASON.format(action=plan.action, actor=actor)
    if plan.action == "retry":
        in_doubt = settings.sending.uncertain_policy == "resend"
        done = control.retry_send(session, send_id, now, in_doubt=in_doubt)
    elif plan.action == "pause":
        done = control.pause_send(session, send_id, reason, now)
    elif plan.action == "resume":
        done = control.resume_send(session, send_id, now)
    else:
        done = control.cancel_send(session, send_id, reason, now)
    audit(session, actor, f"send.{plan.action}", "send", send_id, rows=done.rows)
    return send_id


def _sent(plan: SendPlan) -> int:
    if plan.send_id is None:
        raise NotFoundError(f"{plan.action} needs a send")
    return plan.send_id


def late_send(
    session: Session, settings: Settings, send_id: int, now: dt.datetime, actor: str
) -> Send:
    """Send ``send_id``'s edition to those who subscribed after it, starting now.

    :raises NotFoundError: if there is no such send
    :raises StateError: if the send has not started or was cancelled
    :raises NotApprovedError: if the edition changed since it was approved
    :raises CalendarRefusedError: if the calendar refuses now
    """
    parent = get_send(session, send_id)
    scheduling.check_sendable(session, parent.edition_id, settings)
    calendar.check_time(session, settings, now)
    new = control.create_late_send(session, send_id, now, actor)
    audit(session, actor, "send.late", "send", new.id, parent=send_id)
    return new


def correction_send(
    session: Session,
    settings: Settings,
    send_id: int,
    edition_id: int,
    now: dt.datetime,
    actor: str,
) -> Send:
    """Send edition ``edition_id`` to everyone who received ``send_id``'s, starting now.

    :raises NotFoundError: if the send or the edition does not exist
    :raises NotApprovedError: if the correcting edition is not approved in its
        current version (when approval is required)
    :raises CalendarRefusedError: if the calendar refuses now
    :raises StateError: see :func:`dispatcher.sends.control.create_correction`
    """
    get_send(session, send_id)
    scheduling.check_sendable(session, edition_id, settings)
    calendar.check_time(session, settings, now)
    new = control.create_correction(session, send_id, edition_id, now, actor)
    audit(session, actor, "send.correction", "send", new.id, parent=send_id)
    return new


def get_send(session: Session, send_id: int) -> Send:
    """:raises NotFoundError: if there is no such send"""
    send = session.get(Send, send_id)
    if send is None:
        raise NotFoundError(f"no send with id {send_id}")
    return send


def _send_for(session: Session, send_id: int, action: str) -> Send:
    if action not in ON_SEND:
        raise NotFoundError(f"no send action {action}")
    send = get_send(session, send_id)
    allowed = allowed_actions(send).get(action, ())
    if send.state not in allowed or (action != "cancel" and send.started_at is None):
        raise StateError(f"send {send_id} is {send.state}: it cannot be given {action}")
    return send


def _lists(session: Session, slugs: Sequence[str]) -> list[MailingList]:
    if not slugs:
        raise NotFoundError("a send needs at least one list")
    found = {
        m.slug: m for m in session.scalars(select(MailingList).where(MailingList.slug.in_(slugs)))
    }
    missing = [slug for slug in slugs if slug not in found]
    if missing:
        raise NotFoundError(f"no list with slug {', '.join(missing)}")
    return [found[slug] for slug in dict.fromkeys(slugs)]


def _newsletter(session: Session, edition: Edition) -> str:
    return session.scalar(select(MailingList.name).where(MailingList.id == edition.list_id)) or ""


def _latest_send(session: Session, edition_id: int) -> int:
    latest = session.scalar(select(func.max(Send.id)).where(Send.edition_id == edition_id))
    return int(latest or 0)


def lock_edition(session: Session, edition_id: int) -> None:
    """Make two confirmations of one edition wait for each other (a row lock on PostgreSQL;
    SQLite has one writer anyway), so the second sees the send the first made."""
    session.execute(select(Edition.id).where(Edition.id == edition_id).with_for_update())


def lock_send(session: Session, send_id: int) -> None:
    """:func:`lock_edition` for the edition of send ``send_id`` (if there is one)."""
    edition_id = session.scalar(select(Send.edition_id).where(Send.id == send_id))
    if edition_id is not None:
        lock_edition(session, edition_id)


def state_of(session: Session, send_id: int | None) -> str | None:
    """The send's state, or None if there is no such send."""
    if send_id is None:
        return None
    return session.scalar(select(Send.state).where(Send.id == send_id))
