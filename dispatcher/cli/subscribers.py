"""``dispatcher subscribers``: bring people in from the office's spreadsheets."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from dispatcher.cli.context import AppContext, handle_errors, pass_app
from subscribers.importer import import_csv


@click.group("subscribers")
def group() -> None:
    """Import and manage subscribers."""


@group.command("import")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--list", "list_slug", required=True, help="Slug of the list to subscribe them to.")
@click.option(
    "--confirmed",
    is_flag=True,
    help="They already consented (e.g. an existing list): subscribe them confirmed.",
)
@pass_app
@handle_errors
def import_command(app: AppContext, file: Path, list_slug: str, confirmed: bool) -> None:
    """Import FILE (CSV with email and name columns) into a list."""
    with app.transaction() as session:
        report = import_csv(session, file, list_slug, confirmed=confirmed)
    for line, why in report.skipped:
        click.echo(f"{file}:{line}: skipped: {why}", err=True)
    click.echo(
        f"imported {report.imported}, updated {report.updated}, skipped {len(report.skipped)}"
    )
    if report.imported + report.updated == 0:
        sys.exit(1)


def register(cli: click.Group) -> None:
    cli.add_command(group)
