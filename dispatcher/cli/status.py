"""``dispatcher status``: counts, rate and failures of the latest sends, and the workers.

Apart from ``send``, so that looking imports only the ledger's read model and the
monitoring reader, not what starting a send needs.
"""

from __future__ import annotations

import click

from dispatcher.cli.context import AppContext, pass_app
from dispatcher.cli.render_status import print_status, print_system
from dispatcher.monitoring.reader import MonitoringReader
from dispatcher.sends import status as send_status
from subscribers.orm import utcnow


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
    sample = None if all_failures else send_status.FAILURE_SAMPLE
    with app.transaction() as session:
        ids = [send_id] if send_id is not None else send_status.recent_send_ids(session, 5)
        views = [send_status.send_view(session, i, utcnow(), sample) for i in ids]
    if not views:
        click.echo("no sends yet")
    for shown in views:
        print_status(shown)
    # Hook (monitoring): the figures the console shows, from the workers' keys in Redis.
    reader = MonitoringReader(app.settings)
    print_system(reader.system())
    reader.close()
