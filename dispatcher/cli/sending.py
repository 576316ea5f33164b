"""``dispatcher send`` and ``reconcile``: start sends and watch them go out."""

from __future__ import annotations

import datetime as dt
import time
from pathlib import Path
from zoneinfo import ZoneInfo

import click

from dispatcher.cli.context import AppContext, pass_app
from dispatcher.office import scheduling
from dispatcher.sends import ledger, progress, reconcile
from dispatcher.sends import status as send_status
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
@click.option(
    "--override-block",
    "override",
    metavar="JUSTIFICATION",
    help="Send through calendar blocks (par condicio), saying why; the audit log keeps it.",
)
@click.option(
    "--dry-run",
    is_flag=True,
    help="Send nothing: the workers write one .eml per recipient into --out, and a report.",
)
@click.option(
    "--out", type=click.Path(file_okay=False, path_type=Path), help="The dry run's folder."
)
@click.option(
    "--timeout", default=600.0, show_default=True, help="Seconds a dry run waits for the workers."
)
@pass_app
def send(
    app: AppContext,
    edition_id: int,
    lists: tuple[str, ...],
    now_flag: bool,
    at: str | None,
    again: bool,
    wait: bool,
    override: str | None,
    dry_run: bool,
    out: Path | None,
    timeout: float,
) -> None:
    """Send edition EDITION_ID to one or more lists, now or at a given time.

    The edition must be approved in its current version (dispatcher editions approve).
    The sending calendar refuses a time inside a block, on a holiday or outside the
    sending hours (dispatcher calendar list).
    With --dry-run --out DIR it sends nothing: see dispatcher/sends/dryrun.py.
    """
    if dry_run or out is not None:
        real = now_flag or bool(at) or again
        _dry_run(app, edition_id, lists, out if dry_run else None, timeout, real)
        return
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
            override=override,
        )
    click.echo(f"send {send_row.id} scheduled for {_local(when)}")
    if now_flag:
        start_now(app, send_row.id)
    if wait:
        wait_for(app, send_row.id)


def _dry_run(
    app: AppContext,
    edition_id: int,
    lists: tuple[str, ...],
    out: Path | None,
    timeout: float,
    real: bool,
) -> None:
    """``send --dry-run --out DIR``: the whole path, into DIR; see dispatcher/sends/dryrun.py."""
    if out is None or real:
        raise click.UsageError("a dry run takes --dry-run and --out, and no --now/--at/--again")
    from dispatcher.cli.dryrun import run_dry_run

    run_dry_run(app, edition_id, lists, out, timeout)


def start_now(app: AppContext, send_id: int) -> None:
    """Write the ledger at once and enqueue the first window of batches."""
    policy = app.settings.sending
    click.echo("writing the delivery ledger ...")
    with app.transaction() as session:
        rows = ledger.start_send(session, send_id, utcnow(), policy.batch_size)
        batch_ids = reconcile.take_pending(session, send_id, policy.dispatch_window, utcnow())
        if rows is None:  # the beat's reconciler started it first: count what it wrote
            rows = sum(progress.send_counts(session, send_id).values())
            click.echo(f"send {send_id} was started by the scheduler")
    app.enqueue(batch_ids)
    click.echo(f"send {send_id} started: {rows} recipients, {len(batch_ids)} batches enqueued")


def _progress(app: AppContext, send_id: int) -> send_status.SendView:
    with app.transaction() as session:
        (view,) = send_status.send_views(session, [send_id], utcnow())
    return view


def wait_for(app: AppContext, send_id: int, poll: float = 0.5) -> None:
    """Show a progress bar until the send is finished (or paused/cancelled)."""
    with click.progressbar(length=_progress(app, send_id).total, label=f"send {send_id}") as bar:
        done = 0
        while True:
            view = _progress(app, send_id)
            bar.update(view.total - view.remaining - done)
            done = view.total - view.remaining
            if view.state in ("finished", "cancelled", "paused"):
                break
            time.sleep(poll)


@click.command("reconcile")
@pass_app
def reconcile_command(app: AppContext) -> None:
    """Run the reconciler once, exactly as the beat does every few seconds."""
    done = scheduling.run_reconciler(app.sessions, app.settings)
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
