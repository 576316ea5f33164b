"""``dispatcher editions``: add, update, preview, list and approve editions."""

from __future__ import annotations

from pathlib import Path

import click
from sqlalchemy.orm import Session

from dispatcher.cli.context import AppContext, pass_app
from dispatcher.errors import StateError
from dispatcher.models import Role
from dispatcher.office import approvals, scheduling
from dispatcher.office.edition_store import (
    add_edition,
    get_edition,
    read_source,
    recent_editions,
    update_edition,
)
from dispatcher.office.users import audit, find_user, has_role
from dispatcher.sends.compose import preview
from subscribers.tokens import Signer

CLI_USER = "cli"  # who the audit log names when a command is not run --as someone


@click.group("editions")
def group() -> None:
    """Add, update, preview, list and approve editions."""


@group.command("add")
@click.argument("file", type=click.Path(dir_okay=False, path_type=Path))
@pass_app
def add(app: AppContext, file: Path) -> None:
    """Parse, compile and store the edition in FILE; print its new id alone."""
    source = read_source(file)
    with app.transaction() as session:
        edition = add_edition(session, source, str(file), app.settings)
        detail = {"number": edition.number, "source_name": str(file)}
        audit(session, CLI_USER, "edition.add", "edition", edition.id, **detail)
    click.echo(edition.id)


@group.command("update")
@click.argument("edition_id", type=int)
@click.argument("file", type=click.Path(dir_okay=False, path_type=Path))
@pass_app
def update(app: AppContext, edition_id: int, file: Path) -> None:
    """Replace edition EDITION_ID with the content of FILE (compiled again).

    Refused while a send of the edition is scheduled or going out; a change
    un-approves the edition.
    """
    source = read_source(file)
    with app.transaction() as session:
        scheduling.ensure_editable(session, edition_id)
        previous = get_edition(session, edition_id).compiled_hash
        edition = update_edition(session, edition_id, source, str(file), app.settings)
        detail = {"source_name": str(file), "previous_hash": previous}
        audit(session, CLI_USER, "edition.update", "edition", edition_id, **detail)
    click.echo(f"edition {edition.id} updated ({edition.compiled_hash[:12]})")


@group.command("preview")
@click.argument("edition_id", type=int)
@click.option(
    "--out",
    "out_dir",
    required=True,
    type=click.Path(file_okay=False, path_type=Path),
    help="Folder for edition.html, edition.txt and sample.eml.",
)
@pass_app
def preview_command(app: AppContext, edition_id: int, out_dir: Path) -> None:
    """Write the HTML, the text and one sample .eml of edition EDITION_ID."""
    with app.transaction() as session:
        edition = get_edition(session, edition_id)
        shown = preview(session, edition, app.settings, Signer(app.settings.all_secret_keys))
    out_dir.mkdir(parents=True, exist_ok=True)
    (out_dir / "edition.html").write_text(shown.html, encoding="utf-8")
    (out_dir / "edition.txt").write_text(shown.text, encoding="utf-8")
    (out_dir / "sample.eml").write_bytes(shown.eml)
    click.echo(
        f"{out_dir}/edition.html ({len(shown.html.encode()):,} bytes), "
        f"{out_dir}/edition.txt, {out_dir}/sample.eml ({len(shown.eml):,} bytes)"
    )


@group.command("list")
@click.option("--list", "slug", help="Only the editions of this newsletter.")
@click.option("--limit", default=20, show_default=True, help="How many, the latest first.")
@pass_app
def list_command(app: AppContext, slug: str | None, limit: int) -> None:
    """The latest editions with their state: draft, approved, scheduled, sending, sent."""
    with app.transaction() as session:
        rows = recent_editions(session, limit, slug)
        for edition, newsletter in rows:
            approval = approvals.approval_of(session, edition)
            state = approvals.edition_state(session, edition, approval)
            lapsed = (
                " (approval lapsed)" if approval.state is approvals.ApprovalState.OUTDATED else ""
            )
            click.echo(
                f"{edition.id}\t{newsletter}\tn. {edition.number}\t{edition.issue_date}\t"
                f"{state}{lapsed}\t{edition.subject}"
            )
    if not rows:
        click.echo("no editions yet")


@group.command("approve")
@click.argument("edition_id", type=int)
@click.option("--as", "username", help="The approver the audit log names (an approver user).")
@pass_app
def approve(app: AppContext, edition_id: int, username: str | None) -> None:
    """Approve the current content of edition EDITION_ID, after its preflight checks.

    Any later change to the edition or to its newsletter's settings lapses the approval.
    """
    with app.transaction() as session:
        actor = _approver(session, username) if username else CLI_USER
        done = approvals.approve(session, edition_id, actor, app.settings)
    for check in done.preflight.warnings:
        click.echo(f"warning: [{check.code}] {check.where}: {check.message}")
    click.echo(f"edition {edition_id} approved by {actor} ({done.approval.current_hash[:12]})")


def _approver(session: Session, username: str) -> str:
    user = find_user(session, username)
    if user is None or user.disabled_at is not None or not has_role(user, Role.APPROVER):
        raise StateError(f"{username!r} is not an active user with the approver role")
    return user.username
