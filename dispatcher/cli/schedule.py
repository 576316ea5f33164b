"""``dispatcher schedule`` and ``dispatcher lists slot``: when sends go out.

``dispatcher send EDITION_ID --list SLUG --at "YYYY-MM-DD HH:MM"`` schedules a
send; these commands list the sends waiting, move or cancel one before it
starts, and set a newsletter's weekly slot. Times are Europe/Rome wall-clock
times; the database keeps UTC.
"""

from __future__ import annotations

import datetime as dt

import click

from dispatcher.cli.context import AppContext, pass_app
from dispatcher.cli.lists import group as lists_group
from dispatcher.office import scheduling
from subscribers.orm import utcnow

CLI_USER = "cli"
TIME_FORMAT = "%Y-%m-%d %H:%M %Z"


@click.group("schedule")
def group() -> None:
    """List scheduled sends; move or cancel one before it starts."""


@group.command("list")
@pass_app
def list_command(app: AppContext) -> None:
    """The sends waiting for their time, the next first."""
    with app.transaction() as session:
        sends = scheduling.upcoming_sends(session, limit=100)
        for send in sends:
            when = scheduling.to_local(send.scheduled_at).strftime(TIME_FORMAT)
            click.echo(f"send {send.id}\tedition {send.edition_id}\t{when}\t{send.created_by}")
    if not sends:
        click.echo("no sends scheduled")


@group.command("reschedule")
@click.argument("send_id", type=int)
@click.option("--at", "at", required=True, help='New local time (Europe/Rome): "YYYY-MM-DD HH:MM".')
@pass_app
def reschedule(app: AppContext, send_id: int, at: str) -> None:
    """Move SEND_ID to another time; only while it is still scheduled."""
    when = _parse(at)
    with app.transaction() as session:
        scheduling.reschedule_send(
            session, send_id, when, actor=CLI_USER, settings=app.settings, now=utcnow()
        )
    click.echo(f"send {send_id} moved to {scheduling.to_local(when).strftime(TIME_FORMAT)}")


@group.command("unschedule")
@click.argument("send_id", type=int)
@pass_app
def unschedule(app: AppContext, send_id: int) -> None:
    """Cancel SEND_ID before it starts (a started send is cancelled with 'send cancel')."""
    with app.transaction() as session:
        scheduling.unschedule_send(session, send_id, actor=CLI_USER)
    click.echo(f"send {send_id} unscheduled")


@lists_group.command("slot")
@click.argument("slug")
@click.option("--weekday", help="mon, tue, wed, thu, fri, sat or sun.")
@click.option("--time", "clock", help="Local time of day, HH:MM.")
@click.option("--zone", default=scheduling.DEFAULT_ZONE, show_default=True, help="IANA zone.")
@click.option("--clear", is_flag=True, help="Remove the weekly slot.")
@pass_app
def slot(
    app: AppContext, slug: str, weekday: str | None, clock: str | None, zone: str, clear: bool
) -> None:
    """Set the weekly slot of newsletter SLUG (e.g. --weekday fri --time 10:00).

    The slot is proposed as the default time of the newsletter's next send.
    """
    weekly: tuple[int, dt.time] | None = None
    if not clear:
        if not (weekday and clock):
            raise click.UsageError("give --weekday and --time, or --clear")
        weekly = (scheduling.parse_weekday(weekday), _clock(clock))
    with app.transaction() as session:
        newsletter = scheduling.set_weekly_slot(session, slug, weekly, CLI_USER, zone)
        proposed = scheduling.proposal(session, app.settings, newsletter, utcnow())
    if weekly is None or proposed is None:
        click.echo(f"{slug}: no weekly slot")
        return
    shown = scheduling.to_local(proposed, zone).strftime(f"%a {TIME_FORMAT}")
    day = scheduling.WEEKDAYS[weekly[0]]
    click.echo(f"{slug}: every {day} at {weekly[1]:%H:%M} {zone}; next {shown}")


def _parse(text: str) -> dt.datetime:
    try:
        return scheduling.parse_local(text)
    except ValueError as exc:
        raise click.BadParameter(str(exc), param_hint="--at") from exc


def _clock(text: str) -> dt.time:
    try:
        return scheduling.parse_clock(text)
    except ValueError as exc:
        raise click.BadParameter(str(exc), param_hint="--time") from exc
