"""``dispatcher db``: schema migrations with Alembic."""

from __future__ import annotations

import click
from alembic import command

from dispatcher.cli.context import AppContext, pass_app
from dispatcher.migrate import alembic_config


@click.group("db")
def group() -> None:
    """Create and migrate the database schema."""


@group.command("upgrade")
@click.argument("revision", default="head")
@pass_app
def upgrade(app: AppContext, revision: str) -> None:
    """Apply migrations up to REVISION (default: the latest)."""
    command.upgrade(alembic_config(app.settings.database_url), revision)
    click.echo(f"database at {revision}")


@group.command("current")
@pass_app
def current(app: AppContext) -> None:
    """Show the schema revision the database is at."""
    command.current(alembic_config(app.settings.database_url))
