"""``dispatcher users``: accounts for the admin and the console."""

from __future__ import annotations

import click

from dispatcher.cli.context import AppContext, pass_app
from dispatcher.models import Role
from dispatcher.office.users import audit, create_user, set_password


@click.group("users")
def group() -> None:
    """Create users and set their passwords."""


@group.command("create")
@click.argument("username")
@click.option(
    "--role", required=True, type=click.Choice([r.value for r in Role]), help="What they may do."
)
@click.password_option(help="Password (asked for when not given; at least 12 characters).")
@pass_app
def create(app: AppContext, username: str, role: str, password: str) -> None:
    """Create user USERNAME with a role."""
    with app.transaction() as session:
        user = create_user(session, username, password, role)
        audit(session, "cli", "user.create", "user", user.id, role=role)
    click.echo(f"user {username} created ({role})")


@group.command("password")
@click.argument("username")
@click.password_option(help="New password (asked for when not given).")
@pass_app
def password(app: AppContext, username: str, password: str) -> None:
    """Set a new password for USERNAME."""
    with app.transaction() as session:
        set_password(session, username, password)
        audit(session, "cli", "user.password", "user", None, account=username)
    click.echo(f"password of {username} changed")
