"""Lists in the browser: create one, change its newsletter settings, know what that undoes.

The settings a form gives are checked by the same code as the CLI's TOML file
(:meth:`NewsletterSettings.from_dict`), contrast check included. An approval binds
the edition's output *and* its newsletter's settings
(:func:`dispatcher.office.approvals.approval_hash`), so changing the settings makes
every edition approved under the old ones need approval again: :func:`settings_impact`
names them before the change is saved, and :func:`save_settings` refuses to save over
settings that changed since they were shown. Editions already compiled keep the
masthead and colours they were compiled with until they are saved again.
Services take a session and never commit.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from dataclasses import asdict, dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from dispatcher.editions.newsletter import Colours, NewsletterSettings
from dispatcher.errors import StateError
from dispatcher.models import Edition
from dispatcher.office.approvals import ApprovalState, EditionState, approval_of, edition_state
from dispatcher.office.users import audit
from dispatcher.render import canonical_json, compiled_digest
from subscribers import service
from subscribers.errors import InputError
from subscribers.models import MailingList

#: The form's text fields, named as the settings' keys (dotted inside a table).
TEXT_FIELDS = (
    "name", "from_name", "from_address", "reply_to", "list_id", "masthead_kicker",
    "masthead_title", "masthead_subtitle", "language", "organisation_address",
)  # fmt: skip
OPTIONAL_FIELDS = frozenset({"reply_to", "masthead_kicker", "organisation_address"})
COLOUR_FIELDS = tuple(f"colours.{name}" for name in Colours.__dataclass_fields__)
LOGO_FIELDS = ("logo.url", "logo.alt", "logo.width")


class SettingsChangedError(StateError):
    """The list's settings changed between the confirmation page and the save."""


@dataclass(frozen=True)
class AffectedEdition:
    """An edition approved now that would need approval again."""

    edition: Edition
    state: EditionState


@dataclass(frozen=True)
class SettingsImpact:
    """What saving new settings does to the list's approvals."""

    changed: bool  # the settings differ from the stored ones
    affected: tuple[AffectedEdition, ...]

    @property
    def waiting(self) -> int:
        """Affected editions with a send still to come (scheduled or under way)."""
        held = (EditionState.SCHEDULED, EditionState.SENDING)
        return sum(1 for item in self.affected if item.state in held)


def settings_version(mailing_list: MailingList) -> str:
    """A short digest of the stored settings: the confirmation page carries it."""
    return hashlib.sha256(canonical_json(mailing_list.settings or {}).encode()).hexdigest()[:16]


# The settings' keys the form shows and edits.
FORM_KEYS = frozenset(TEXT_FIELDS) | {"slug", "legal_footer", "colours", "logo", "reach"}


def form_defaults(mailing_list: MailingList) -> dict[str, str]:
    """The form's values for a list: its settings, or sensible blanks for a new newsletter."""
    stored: dict[str, Any] = dict(mailing_list.settings or {})
    values = {name: _text(stored.get(name)) for name in TEXT_FIELDS}
    values["name"] = values["name"] or mailing_list.name
    values["language"] = values["language"] or "it"
    colours = {**asdict(Colours()), **(stored.get("colours") or {})}
    values |= {f"colours.{key}": str(value) for key, value in colours.items()}
    logo = stored.get("logo") or {}
    values |= {f"logo.{key}": _text(logo.get(key)) for key in ("url", "alt", "width")}
    values["legal_footer"] = "\n".join(stored.get("legal_footer") or [])
    values["reach"] = "1" if stored.get("reach") else ""
    return values


def settings_from_form(mailing_list: MailingList, form: Mapping[str, str]) -> NewsletterSettings:
    """Check the form's values as the CLI checks a settings file.

    :raises EditionFileError: naming the field that is missing or wrong
    """
    data: dict[str, Any] = {"slug": mailing_list.slug}
    for name in TEXT_FIELDS:
        value = form.get(name, "").strip()
        if value or name not in OPTIONAL_FIELDS:
            data[name] = value if value else None
    data["legal_footer"] = [line for line in form.get("legal_footer", "").splitlines() if line]
    data["colours"] = {f.split(".")[1]: form.get(f, "").strip() for f in COLOUR_FIELDS}
    if form.get("logo.url", "").strip():
        width = form.get("logo.width", "").strip() or "160"
        data["logo"] = {
            "url": form.get("logo.url", "").strip(),
            "alt": form.get("logo.alt", "").strip(),
            "width": int(width) if width.isdigit() else width,
        }
    data["reach"] = bool(form.get("reach"))
    # What the form does not edit (the sections, written in the settings file) stays as stored.
    kept = {k: v for k, v in (mailing_list.settings or {}).items() if k not in FORM_KEYS}
    return NewsletterSettings.from_dict({**kept, **data}, source="form")


def settings_impact(
    session: Session, mailing_list: MailingList, new: NewsletterSettings
) -> SettingsImpact:
    """The editions of the list approved now whose approval ``new`` would end."""
    settings_json = canonical_json(new.to_dict())
    changed = new.to_dict() != (mailing_list.settings or {})
    affected = []
    editions = session.scalars(
        select(Edition)
        .where(Edition.list_id == mailing_list.id, Edition.approved_hash.is_not(None))
        .order_by(Edition.number.desc())
    )
    for edition in editions if mailing_list.settings else ():
        approval = approval_of(session, edition)
        if approval.state is not ApprovalState.CURRENT:
            continue
        after = compiled_digest(edition.subject, edition.html, edition.text, settings_json)
        if after != edition.approved_hash:
            affected.append(AffectedEdition(edition, edition_state(session, edition, approval)))
    return SettingsImpact(changed, tuple(affected))


def save_settings(
    session: Session,
    mailing_list: MailingList,
    new: NewsletterSettings,
    shown_version: str,
    actor: str,
) -> SettingsImpact:
    """Store ``new`` as the list's settings (and its name), if they are still those shown.

    :param shown_version: :func:`settings_version` of the settings the confirmation showed
    :returns: the impact, worked out again at the moment of saving
    :raises SettingsChangedError: if someone changed them since
    """
    if shown_version != settings_version(mailing_list):
        raise SettingsChangedError(
            f"the settings of {mailing_list.slug} changed while you were looking at them: "
            "check them again"
        )
    impact = settings_impact(session, mailing_list, new)
    mailing_list.settings = new.to_dict()
    mailing_list.name = new.name
    detail = {"editions_to_approve": [item.edition.id for item in impact.affected]}
    audit(session, actor, "list.settings", "list", mailing_list.id, **detail)
    session.flush()
    return impact


def create_list(session: Session, slug: str, name: str, actor: str) -> MailingList:
    """A new list, without newsletter settings until they are saved (not on the site until then).

    :raises InputError: if the slug is taken or malformed, or the name is blank
    """
    if not name.strip():
        raise InputError("a list needs a name")
    created = service.create_list(session, slug.strip(), name.strip())
    audit(session, actor, "list.create", "list", created.id, slug=created.slug)
    return created


def _text(value: object) -> str:
    return "" if value is None else str(value)
