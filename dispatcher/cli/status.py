"""``dispatcher status``: counts, rate and failures of the latest sends, and the workers.

Apart from ``send``, so that looking imports only the ledger's read model and the
monitoring reader, not what starting a send needs.
"""

from __future__ import annotations

import click

from dispatcher.cli.context import AppContext, handle_errors, pass_app
from dispatcher.cli.render_status import print_status, print_system
from dispatcher.monitoring.reader import MonitoringReader
from dispatcher.sends import report
from subscribers.orm import utcnow


@click.command("status")
@click.argument("send_id", type=int, required=False)
@click.option(
    "--all-failures",
    is_flag=True,
    help="Group every failed row by reply (slower on very large sends; default: a sample).",
)
@pass_app
@handle_errors
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
