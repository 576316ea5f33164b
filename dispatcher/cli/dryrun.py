"""``dispatcher send ID --list SLUG --dry-run --out DIR``: the send path, into a folder.

The command starts a dry run (:mod:`dispatcher.sends.dryrun`), hands its batches to
the real workers, waits until they have written every message, then writes the
report (``report.json`` and ``report.txt``) into the folder and prints its summary.
"""

from __future__ import annotations

import time
from pathlib import Path

import click

from dispatcher.cli.context import AppContext
from dispatcher.sends import dryrun, reconcile
from subscribers.orm import utcnow

POLL_SECONDS = 0.5


def run_dry_run(
    app: AppContext, edition_id: int, lists: tuple[str, ...], out: Path, timeout: float
) -> dryrun.DryRunReport:
    """Start the dry run, wait for the workers (at most ``timeout`` seconds), report."""
    policy = app.settings.sending
    with app.transaction() as session:
        send, rows = dryrun.start_dry_run(
            session, edition_id, lists, out, now=utcnow(), batch_size=policy.batch_size, actor="cli"
        )
        send_id = send.id
        batch_ids = reconcile.take_pending(session, send_id, policy.dispatch_window, utcnow())
    app.enqueue(batch_ids)
    click.echo(f"dry run {send_id}: {rows} rows, {len(batch_ids)} batches enqueued")
    report = _wait(app, send_id, time.monotonic() + timeout)
    as_json, _ = dryrun.write_report(report)
    click.echo(report.summary(), nl=False)
    click.echo(f"report: {as_json}")
    if not report.done:
        raise click.ClickException(
            f"dry run {send_id} not finished after {timeout:g} s (are the workers running?)"
        )
    return report


def _wait(app: AppContext, send_id: int, deadline: float) -> dryrun.DryRunReport:
    while True:
        with app.transaction() as session:
            report = dryrun.dry_run_report(session, send_id)
        if report.done or time.monotonic() >= deadline:
            return report
        time.sleep(POLL_SECONDS)
