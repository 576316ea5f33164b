"""``dispatcher editions``: add, update and preview editions."""

from __future__ import annotations

from pathlib import Path

import click

from dispatcher.cli.context import AppContext, handle_errors, pass_app
from dispatcher.compose import preview
from dispatcher.edition_store import add_edition, get_edition, read_source, update_edition
from subscribers.tokens import Signer


@click.group("editions")
def group() -> None:
    """Add, update and preview editions."""


@group.command("add")
@click.argument("file", type=click.Path(dir_okay=False, path_type=Path))
@pass_app
@handle_errors
def add(app: AppContext, file: Path) -> None:
    """Parse, compile and store the edition in FILE; print its new id alone."""
    source = read_source(file)
    with app.transaction() as session:
        edition = add_edition(session, source, str(file), app.settings)
    click.echo(edition.id)


@group.command("update")
@click.argument("edition_id", type=int)
@click.argument("file", type=click.Path(dir_okay=False, path_type=Path))
@pass_app
@handle_errors
def update(app: AppContext, edition_id: int, file: Path) -> None:
    """Replace edition EDITION_ID with the content of FILE (compiled again)."""
    source = read_source(file)
    with app.transaction() as session:
        edition = update_edition(session, edition_id, source, str(file), app.settings)
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
@handle_errors
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


def register(cli: click.Group) -> None:
    cli.add_command(group)
