"""``dispatcher users``: accounts for the admin and the console."""

from __future__ import annotations

import click

from dispatcher.cli.context import AppContext, pass_app
from dispatcher.errors import NotFoundError
from dispatcher.models import Role
from dispatcher.office import accounts
from dispatcher.office.users import audit, create_user, find_user, set_disabled, set_password


@click.group("users")
def group() -> None:
    """Create users, set their passwords, disable and enable them, reset their TOTP."""


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
    _set_disabled(app, username, True)


@group.command("enable")
@click.argument("username")
@pass_app
def enable(app: AppContext, username: str) -> None:
    """Let USERNAME log in again."""
    _set_disabled(app, username, False)


def _set_disabled(app: AppContext, username: str, disabled: bool) -> None:
    word = "disabled" if disabled else "enabled"
    with app.transaction() as session:
        user = set_disabled(session, username, disabled)
        audit(session, "cli", f"user.{word[:-1]}", "user", user.id, account=username)
    click.echo(f"user {username} {word}")


@group.command("totp-reset")
@click.argument("username")
@pass_app
def totp_reset(app: AppContext, username: str) -> None:
    """Remove USERNAME's TOTP second factor (a lost phone): they enrol again."""
    with app.transaction() as session:
        user = find_user(session, username)
        if user is None:
            raise NotFoundError(f"no user {username!r}")
        had = accounts.reset_second_factor(session, user.id, "cli")
    click.echo(f"second factor of {username} reset" if had else f"{username} had no second factor")
