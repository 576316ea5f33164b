"""Printing a send's status as a table on the terminal."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import click

from dispatcher.cli.output import harmless
from dispatcher.monitoring import SystemFigures
from dispatcher.sends.status import SendView

LOCAL_ZONE = ZoneInfo("Europe/Rome")
ORDER = (
    "queued",
    "sending",
    "deferred",
    "sent",
    "failed",
    "uncertain",
    "skipped",
    "bounced",
    "complained",
)


def print_status(status: SendView) -> None:
    """Print one send: header, counts, rate and ETA, failures by reply, bounces by reason."""
    click.echo(
        f'send {status.send_id}: edition {status.edition_id} "{harmless(status.subject)}" '
        f"to {', '.join(status.lists)} - {status.state.upper()}"
        + (f" ({harmless(status.state_reason)})" if status.state_reason else "")
    )
    click.echo(
        f"  scheduled {_local(status.scheduled_at)}, started {_local(status.started_at)}, "
        f"finished {_local(status.finished_at)}"
    )
    if status.hold_until:
        click.echo(f"  held back until {_local(status.hold_until)}: the relay was unreachable")
    width = max(len(s) for s in ORDER)
    for name in ORDER:
        click.echo(f"  {name:<{width}} {status.counts.get(name, 0):>9,}")
    click.echo(f"  {'total':<{width}} {status.total:>9,}")
    eta = f", ETA {status.eta_seconds:,.0f} s" if status.eta_seconds else ""
    click.echo(f"  rate {status.rate or 0.0:,.1f} messages/s{eta}")
    _print_problems(status)


def _print_problems(status: SendView) -> None:
    """Failures by the relay's reply, and what came back by reason: text from outside."""
    if status.failures:
        click.echo("  failures by reply:")
    for group in status.failures:
        code = group.code if group.code is not None else "---"
        reply = harmless(group.reply[:100])
        click.echo(f"    {group.count:>7,}  {group.status:<9} {code}  {reply}")
    if status.bounces:
        click.echo("  came back, by reason:")
    for bounce in status.bounces:
        reason = harmless(bounce.reason[:100])
        code = bounce.status_code or "-.-.-"
        click.echo(f"    {bounce.count:>7,}  {bounce.kind:<11} {code:<7} {reason}")


def _local(when: dt.datetime | None) -> str:
    if when is None:
        return "-"
    aware = when if when.tzinfo else when.replace(tzinfo=dt.UTC)
    return aware.astimezone(LOCAL_ZONE).strftime("%Y-%m-%d %H:%M:%S")


def print_system(figures: SystemFigures) -> None:
    """Print the machinery: queue depth, workers and what they run, the beat's last tick."""
    if not figures.available:
        click.echo(f"workers and queues: not available ({harmless(figures.problem or '')})")
        return
    queues = ", ".join(f"{name} {count:,}" for name, count in figures.queues.items())
    taken = "unknown" if figures.unacked is None else f"{figures.unacked:,}"
    if queues:
        click.echo(f"queues: {queues} waiting, {taken} taken by workers")
    else:  # the demo's SQL broker: nothing to read its queue with
        click.echo("queues: not readable on this broker")
    beat = figures.beat_seconds_ago
    click.echo("beat: no tick recorded" if beat is None else f"beat: last tick {beat:,.0f} s ago")
    click.echo(f"workers: {figures.workers_alive} processes alive, {figures.workers_busy} busy")
    for worker in figures.workers:
        doing = (
            f"send {worker.send_id} batch {worker.batch_id}: {worker.done}/{worker.claimed}"
            if worker.busy
            else "idle"
        )
        click.echo(
            f"  {worker.host}:{worker.pid}  {doing}  ({worker.messages:,} messages, "
            f"seen {worker.seen_seconds_ago:.0f} s ago)"
        )
