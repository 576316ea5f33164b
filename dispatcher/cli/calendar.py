"""``dispatcher calendar``: the periods in which nothing is sent, and the days and hours.

Times are Europe/Rome wall-clock times; the database keeps UTC. A block refuses
every send scheduled inside it and holds those already scheduled there; ``dispatcher
send ... --override-block "why"`` lets one send through, and the audit log keeps why.
"""

from __future__ import annotations

import datetime as dt

import click

from dispatcher.cli.context import AppContext, pass_app
from dispatcher.office import calendar, scheduling
from subscribers.orm import utcnow

CLI_USER = "cli"
SHOWN = "%Y-%m-%d %H:%M"


@click.group("calendar")
def group() -> None:
    """Block sending for a period (par condicio); list and remove blocks."""


@group.command("block")
@click.option("--from", "starts", required=True, help='Local start: "YYYY-MM-DD HH:MM".')
@click.option("--to", "ends", required=True, help='Local end: "YYYY-MM-DD HH:MM".')
@click.option("--reason", required=True, help="Why (every refused send shows it).")
@pass_app
def block(app: AppContext, starts: str, ends: str, reason: str) -> None:
    """Block every send from --from to --to (Europe/Rome), for --reason."""
    start_at, end_at = _parse(starts, "--from"), _parse(ends, "--to")
    with app.transaction() as session:
        made = calendar.add_block(session, start_at, end_at, reason, CLI_USER)
        held = calendar.sends_inside(session, start_at, end_at)
    click.echo(f"block {made.id}: {_local(start_at)} to {_local(end_at)} (Europe/Rome): {reason}")
    if held:
        ids = ", ".join(str(i) for i in held)
        click.echo(f"scheduled inside it, held until it ends (unless overridden): send {ids}")


@group.command("list")
@click.option("--all", "everything", is_flag=True, help="Include blocks that have ended.")
@pass_app
def list_command(app: AppContext, everything: bool) -> None:
    """The blocks not yet ended, and the sending hours and holidays in force."""
    days = calendar.sending_days(app.settings)
    with app.transaction() as session:
        for item in calendar.list_blocks(session, None if everything else utcnow()):
            span = f"{_local(item.starts_at)} to {_local(item.ends_at)}"
            click.echo(f"block {item.id}\t{span}\t{item.reason}\t{item.created_by}")
    national = "national holidays" if days.national else "no national holidays"
    local = ", ".join(f"{d:02d}/{m:02d}" for m, d in days.local) or "none"
    click.echo(f"sending hours {days.hours_text}; {national}; local holidays: {local}")


@group.command("unblock")
@click.argument("block_id", type=int)
@pass_app
def unblock(app: AppContext, block_id: int) -> None:
    """Remove block BLOCK_ID: sends it held start when their time has come."""
    with app.transaction() as session:
        removed = calendar.remove_block(session, block_id, CLI_USER)
    click.echo(f"block {block_id} removed ({removed.reason})")


def _local(value: dt.datetime) -> str:
    return scheduling.to_local(value).strftime(SHOWN)


def _parse(text: str, hint: str) -> dt.datetime:
    try:
        return scheduling.parse_local(text)
    except ValueError as exc:
        raise click.BadParameter(str(exc), param_hint=hint) from exc
