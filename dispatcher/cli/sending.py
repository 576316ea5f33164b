"""``dispatcher send``, ``status`` and ``reconcile``: start sends and watch them."""

from __future__ import annotations

import datetime as dt
import time
from zoneinfo import ZoneInfo

import click

from dispatcher.cli.context import AppContext, pass_app
from dispatcher.cli.render_status import print_status, print_system
from dispatcher.monitoring.reader import MonitoringReader
from dispatcher.office import scheduling
from dispatcher.sends import ledger, reconcile, report
from subscribers.orm import utcnow

LOCAL_ZONE = ZoneInfo("Europe/Rome")


@click.command("send")
@click.argument("edition_id", type=int)
@click.option("--list", "lists", multiple=True, required=True, help="List slug (repeatable).")
@click.option("--now", "now_flag", is_flag=True, help="Start at once.")
@click.option("--at", "at", help='Start at this local time (Europe/Rome): "YYYY-MM-DD HH:MM".')
@click.option(
    "--again", is_flag=True, help="Send again to lists that had it (never twice to one person)."
)
@click.option("--wait", is_flag=True, help="Stay and show progress until the send finishes.")
@pass_app
def send(
    app: AppContext,
    edition_id: int,
    lists: tuple[str, ...],
    now_flag: bool,
    at: str | None,
    again: bool,
    wait: bool,
) -> None:
    """Send edition EDITION_ID to one or more lists, now or at a given time.

    The edition must be approved in its current version (dispatcher editions approve).
    """
    if now_flag == (at is not None):
        raise click.UsageError("give exactly one of --now and --at")
    when = utcnow() if now_flag else parse_local_time(at or "")
    with app.transaction() as session:
        send_row = scheduling.schedule_send(
            session,
            edition_id,
            lists,
            when,
            actor="cli",
            settings=app.settings,
            now=utcnow(),
            again=again,
        )
    click.echo(f"send {send_row.id} scheduled for {_local(when)}")
    if now_flag:
        start_now(app, send_row.id)
    if wait:
        wait_for(app, send_row.id)


def start_now(app: AppContext, send_id: int) -> None:
    """Write the ledger at once and enqueue the first window of batches."""
    policy = app.settings.sending
    click.echo("writing the delivery ledger ...")
    with app.transaction() as session:
        rows = ledger.start_send(session, send_id, utcnow(), policy.batch_size)
        batch_ids = reconcile.take_pending(session, send_id, policy.dispatch_window, utcnow())
    app.enqueue(batch_ids)
    click.echo(f"send {send_id} started: {rows} recipients, {len(batch_ids)} batches enqueued")


def wait_for(app: AppContext, send_id: int, poll: float = 0.5) -> None:
    """Show a progress bar until the send is finished (or paused/cancelled)."""
    with app.transaction() as session:
        total = report.send_status(session, send_id, utcnow()).total
    with click.progressbar(length=total, label=f"send {send_id}") as bar:
        done = 0
        while True:
            with app.transaction() as session:
                status = report.send_status(session, send_id, utcnow())
            bar.update(status.total - status.remaining - done)
            done = status.total - status.remaining
            if status.state in ("finished", "cancelled", "paused"):
                break
            time.sleep(poll)


@click.command("status")
@click.argument("send_id", type=int, required=False)
@click.option(
    "--all-failures",
    is_flag=True,
    help="Group every failed row by reply (slower on very large sends; default: a sample).",
)
@pass_app
def status(app: AppContext, send_id: int | None, all_failures: bool) -> None:
    """Counts per status, rate and failures of a send (default: the latest sends)."""
    sample = None if all_failures else report.STATUS_FAILURE_SAMPLE
    with app.transaction() as session:
        ids = [send_id] if send_id is not None else report.recent_sends(session, 5)
        statuses = [report.send_status(session, i, utcnow(), sample) for i in ids]
    if not statuses:
        click.echo("no sends yet")
    for shown in statuses:
        print_status(shown)
    # Hook (monitoring): the figures the console shows, from the workers' keys in Redis.
    reader = MonitoringReader(app.settings)
    print_system(reader.system())
    reader.close()


@click.command("reconcile")
@pass_app
def reconcile_command(app: AppContext) -> None:
    """Run the reconciler once (the beat does this every few seconds)."""
    with app.transaction() as session:
        done = reconcile.reconcile(session, app.settings.sending, utcnow())
    app.enqueue(done.enqueue)
    click.echo(
        f"started {done.started}, enqueued {len(done.enqueue)} batches, "
        f"{done.uncertain} in doubt, {done.requeued} requeued, finished {done.finished}"
    )


def parse_local_time(text: str) -> dt.datetime:
    """``YYYY-MM-DD HH:MM`` in Europe/Rome, as a UTC datetime."""
    try:
        return scheduling.parse_local(text, scheduling.DEFAULT_ZONE)
    except ValueError as exc:
        raise click.BadParameter(str(exc), param_hint="--at") from exc


def _local(when: dt.datetime) -> str:
    return when.astimezone(LOCAL_ZONE).strftime("%Y-%m-%d %H:%M %Z")


def register(cli: click.Group) -> None:
    # `send` is the default command of the `send` group in dispatcher.cli.control,
    # beside pause, resume, cancel, retry, late and correction.
    for command in (status, reconcile_command):
        cli.add_command(command)
