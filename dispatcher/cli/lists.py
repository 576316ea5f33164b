"""``dispatcher lists``: lists and their newsletter settings."""

from __future__ import annotations

from pathlib import Path

import click

from dispatcher.cli.context import AppContext, pass_app
from dispatcher.editions.newsletter import load_newsletter_settings
from subscribers import service


@click.group("lists")
def group() -> None:
    """Create lists and set their newsletter settings."""


@group.command("create")
@click.argument("slug")
@click.argument("name")
@click.option(
    "--settings",
    "settings_file",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="Newsletter settings (TOML): From, Reply-To, List-Id, masthead, colours, footer.",
)
@pass_app
def create(app: AppContext, slug: str, name: str, settings_file: Path | None) -> None:
    """Create the list SLUG called NAME."""
    settings = load_newsletter_settings(settings_file).to_dict() if settings_file else {}
    with app.transaction() as session:
        created = service.create_list(session, slug, name, settings)
    click.echo(f"list {created.slug} created (id {created.id})")


@group.command("configure")
@click.argument("slug")
@click.option(
    "--settings",
    "settings_file",
    required=True,
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="Newsletter settings file (TOML).",
)
@pass_app
def configure(app: AppContext, slug: str, settings_file: Path) -> None:
    """Replace the newsletter settings of list SLUG (editions compiled later use them)."""
    settings = load_newsletter_settings(settings_file).to_dict()
    with app.transaction() as session:
        service.get_list(session, slug).settings = settings
    click.echo(f"list {slug} configured from {settings_file}")


@group.command("show")
@pass_app
def show(app: AppContext) -> None:
    """List the lists with their subscription counts."""
    with app.transaction() as session:
        for mailing_list in service.all_lists(session):
            counts = service.subscription_counts(session, mailing_list.id)
            summary = ", ".join(f"{n} {status}" for status, n in sorted(counts.items()))
            click.echo(f"{mailing_list.slug}\t{mailing_list.name}\t{summary or 'empty'}")
