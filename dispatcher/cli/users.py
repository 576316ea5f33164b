"""``dispatcher users``: accounts for the admin and the console."""

from __future__ import annotations

import click

from dispatcher.cli.context import AppContext, pass_app
from dispatcher.models import Role
from dispatcher.office.users import audit, create_user, set_disabled, set_password


@click.group("users")
def group() -> None:
    """Create users, set their passwords, disable and enable them."""


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
    """Set a new password for USERNAME; every open login of theirs ends."""
    with app.transaction() as session:
        set_password(session, username, password)
        audit(session, "cli", "user.password", "user", None, account=username)
    click.echo(f"password of {username} changed")


@group.command("disable")
@click.argument("username")
@pass_app
def disable(app: AppContext, username: str) -> None:
    """Disable USERNAME: no more logins, and their open ones end at once."""
    with app.transaction() as session:
        user = set_disabled(session, username, True)
        audit(session, "cli", "user.disable", "user", user.id, account=username)
    click.echo(f"user {username} disabled")


@group.command("enable")
@click.argument("username")
@pass_app
def enable(app: AppContext, username: str) -> None:
    """Let USERNAME log in again."""
    with app.transaction() as session:
        user = set_disabled(session, username, False)
        audit(session, "cli", "user.enable", "user", user.id, account=username)
    click.echo(f"user {username} enabled")
