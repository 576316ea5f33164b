"""Approval bound to content: an approver approves one hash, and any change un-approves.

The approval hash covers everything an editor or the newsletter's settings decide
about what recipients get: the subject, the compiled HTML, the plain text and the
newsletter's settings (From, Reply-To, List-Id, masthead, footer); for an edition with
sections or English texts also its content (which article goes to which section) and
its whole English version as compiled. A send's variants by section are that approved
content with articles left out, compiled when the send needs them. Per-recipient
values are slot sentinels in the compiled output, so they are outside the hash by
construction. It is computed the way :attr:`CompiledEdition.compiled_hash` is, but
with the newsletter's settings as they are *now*: right after an edition is
compiled the two are equal; after an edit, or after the newsletter's settings
change, the stored ``approved_hash`` no longer matches and the edition is no
longer approved. Nothing has to remember to revoke anything.

Preflight (:mod:`dispatcher.preflight`) runs before an approval: its errors block
it, its warnings do not. Services take a session and never commit.
"""

from __future__ import annotations

import datetime as dt
import enum
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from dispatcher import preflight
from dispatcher.config import Settings
from dispatcher.errors import StateError
from dispatcher.models import Edition, Send, SendState
from dispatcher.office.edition_store import get_edition, newsletter_of
from dispatcher.office.users import audit
from dispatcher.preflight import PreflightReport
from dispatcher.render import canonical_json, compiled_digest
from dispatcher.sends import variants
from subscribers.orm import utcnow


class NotApprovedError(StateError):
    """The edition's current content is not the approved one (or was never approved)."""


class ApprovalMismatchError(StateError):
    """The edition changed between the moment it was shown and the approval."""


class PreflightFailedError(StateError):
    """Preflight found errors: the edition cannot be approved (or sent unapproved)."""

    def __init__(self, edition_id: int, report: PreflightReport) -> None:
        problems = "; ".join(f"{c.where}: {c.message}" for c in report.errors)
        super().__init__(f"edition {edition_id} fails its preflight checks: {problems}")
        self.report = report
        self.coded("approval.preflight_failed", edition=edition_id, count=len(report.errors))


class ApprovalState(enum.StrEnum):
    NONE = "none"  # never approved
    CURRENT = "current"  # approved, and the content is still the approved one
    OUTDATED = "outdated"  # approved once, changed since: no longer approved


@dataclass(frozen=True)
class Approval:
    """An edition's approval as it stands now."""

    state: ApprovalState
    current_hash: str
    approved_hash: str | None
    approved_by: str | None
    approved_at: dt.datetime | None

    @property
    def approved(self) -> bool:
        return self.state is ApprovalState.CURRENT


@dataclass(frozen=True)
class Approved:
    """What :func:`approve` did: the approval, and the preflight's warnings it passed."""

    approval: Approval
    preflight: PreflightReport


class EditionState(enum.StrEnum):
    """Where an edition stands, for lists and badges."""

    DRAFT = "draft"  # not approved, or changed since its approval
    APPROVED = "approved"  # approved, no send yet
    SCHEDULED = "scheduled"  # a send waits for its time
    SENDING = "sending"  # a send is running or paused
    SENT = "sent"  # a send finished


def approval_hash(session: Session, edition: Edition) -> str:
    """The sha256 hex digest an approval binds to (see the module docstring).

    :raises ContentError: if the newsletter has no usable settings
    """
    _, newsletter = newsletter_of(session, edition)
    settings_json = canonical_json(newsletter.to_dict())
    if variants.has_variants(variants.content_of(edition)):
        # Who gets which article (sections) and the English version are approved too.
        wholes = variants.whole_variants(session, edition.id)
        english = "".join(v.compiled_hash for v in wholes)
        settings_json += edition.content_hash + english
    return compiled_digest(edition.subject, edition.html, edition.text, settings_json)


def approval_of(session: Session, edition: Edition) -> Approval:
    """The approval of ``edition`` as it stands now."""
    current = approval_hash(session, edition)
    if edition.approved_hash is None:
        state = ApprovalState.NONE
    elif edition.approved_hash == current:
        state = ApprovalState.CURRENT
    else:
        state = ApprovalState.OUTDATED
    return Approval(state, current, edition.approved_hash, edition.approved_by, edition.approved_at)


def is_approved(session: Session, edition_id: int) -> bool:
    """:raises NotFoundError: if there is no such edition"""
    return approval_of(session, get_edition(session, edition_id)).approved


def require_approved(session: Session, edition_id: int) -> None:
    """:raises NotApprovedError: unless the edition's current content is the approved one"""
    approval = approval_of(session, get_edition(session, edition_id))
    if approval.state is ApprovalState.NONE:
        raise NotApprovedError(
            f"edition {edition_id} is not approved: an approver must approve it"
        ).coded("approval.required", edition=edition_id)
    if approval.state is ApprovalState.OUTDATED:
        raise NotApprovedError(
            f"edition {edition_id} changed after {approval.approved_by} approved it: "
            "it must be approved again"
        ).coded("approval.required_again", edition=edition_id, approver=approval.approved_by)


def approve(
    session: Session,
    edition_id: int,
    actor: str,
    settings: Settings,
    *,
    expected_hash: str | None = None,
) -> Approved:
    """Approve the edition's current content, after its preflight.

    :param expected_hash: the hash the approver was shown; the approval is refused
        if the content changed since (None approves whatever is current: the CLI)
    :raises NotFoundError: if there is no such edition
    :raises ApprovalMismatchError: if ``expected_hash`` is not the current hash
    :raises PreflightFailedError: if preflight finds errors
    """
    edition = get_edition(session, edition_id)
    current = approval_hash(session, edition)
    if expected_hash is not None and expected_hash != current:
        raise ApprovalMismatchError(
            f"edition {edition_id} changed while you were looking at it: check it again"
        ).coded("approval.changed_meanwhile", edition=edition_id)
    report = require_clean_preflight(session, edition_id, settings)
    edition.approved_hash, edition.approved_by, edition.approved_at = current, actor, utcnow()
    detail = {"hash": current, "warnings": [c.code for c in report.warnings]}
    audit(session, actor, "edition.approve", "edition", edition_id, **detail)
    return Approved(approval_of(session, edition), report)


def revoke(session: Session, edition_id: int, actor: str) -> None:
    """Withdraw an edition's approval by hand.

    :raises NotFoundError: if there is no such edition
    """
    edition = get_edition(session, edition_id)
    previous = edition.approved_hash
    edition.approved_hash = edition.approved_by = edition.approved_at = None
    audit(session, actor, "edition.revoke", "edition", edition_id, hash=previous)


def require_clean_preflight(
    session: Session, edition_id: int, settings: Settings
) -> PreflightReport:
    """Run :func:`dispatcher.preflight.run_preflight` (SpamAssassin included).

    :returns: the report, whose warnings do not block
    :raises PreflightFailedError: if preflight finds errors
    """
    report = preflight.run_preflight(session, edition_id, settings)
    if report.errors:
        raise PreflightFailedError(edition_id, report)
    return report


def edition_state(session: Session, edition: Edition, approval: Approval) -> EditionState:
    """Where ``edition`` stands: its most advanced send, else its approval."""
    states = set(
        session.scalars(select(Send.state).where(Send.edition_id == edition.id).distinct())
    )
    if SendState.FINISHED.value in states:
        return EditionState.SENT
    if states & {SendState.RUNNING.value, SendState.PAUSED.value}:
        return EditionState.SENDING
    if SendState.SCHEDULED.value in states:
        return EditionState.SCHEDULED
    return EditionState.APPROVED if approval.approved else EditionState.DRAFT
