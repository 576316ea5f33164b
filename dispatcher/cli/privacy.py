"""``dispatcher suppressions`` and ``dispatcher privacy``: who is never mailed, and retention."""

from __future__ import annotations

import click

from dispatcher.cli.context import AppContext, pass_app
from dispatcher.cli.output import harmless
from dispatcher.office.privacy import purge_ledger
from subscribers.consent_history import purge_unconfirmed
from subscribers.suppression import (
    SuppressionReason,
    count_linked,
    counts_by_reason,
    find_suppression,
    lift,
    suppress,
)


@click.group("suppressions")
def suppressions() -> None:
    """The addresses never to send to, whatever their subscriptions say."""


@suppressions.command("add")
@click.argument("email")
@click.option(
    "--reason",
    type=click.Choice([r.value for r in SuppressionReason if r is not SuppressionReason.ERASED]),
    default=SuppressionReason.MANUAL.value,
    show_default=True,
)
@click.option("--detail", default="", help="Why, for the office (not the address).")
@pass_app
def add(app: AppContext, email: str, reason: str, detail: str) -> None:
    """Never send to EMAIL again (imports will not subscribe it either)."""
    with app.transaction() as session:
        keys = app.settings.all_secret_keys
        row = suppress(session, keys, email, SuppressionReason(reason), detail)
    linked = f"subscriber {row.subscriber_id}" if row.subscriber_id else "no subscriber has it now"
    click.echo(f"suppressed ({reason}; {linked})")


@suppressions.command("list")
@pass_app
def list_command(app: AppContext) -> None:
    """Count the suppressed addresses by reason (the addresses themselves are not kept)."""
    with app.transaction() as session:
        counts = counts_by_reason(session)
        linked = count_linked(session)
    for reason, count in sorted(counts.items()):
        click.echo(f"{reason}\t{count}")
    click.echo(f"total\t{sum(counts.values())} ({linked} linked to a subscriber)")


@suppressions.command("check")
@click.argument("email")
@pass_app
def check(app: AppContext, email: str) -> None:
    """Say whether EMAIL is suppressed, and why."""
    row = app.about_address(find_suppression, email)
    if row is None:
        click.echo("not suppressed")
    else:
        why = f" ({harmless(row.detail)})" if row.detail else ""
        click.echo(f"suppressed: {row.reason} since {row.created_at:%Y-%m-%d}{why}")


@suppressions.command("remove")
@click.argument("email")
@pass_app
def remove(app: AppContext, email: str) -> None:
    """Allow mail to EMAIL again (its subscriptions decide)."""
    removed = app.about_address(lift, email)
    click.echo("removed from the suppression list" if removed else "was not suppressed")


@click.group("privacy")
def privacy() -> None:
    """Data protection: retention of the delivery ledger's personal data."""


@privacy.command("purge")
@click.option(
    "--older-than",
    "days",
    type=click.IntRange(min=0),
    help="Age in days of the ledger rows to purge (default: the LEDGER_RETENTION_DAYS setting).",
)
@click.option(
    "--unconfirmed-older-than",
    "unconfirmed_days",
    type=click.IntRange(min=0),
    help="Age in days of the unconfirmed sign-ups to delete (default: UNCONFIRMED_RETENTION_DAYS).",
)
@pass_app
def purge(app: AppContext, days: int | None, unconfirmed_days: int | None) -> None:
    """Scrub addresses and Message-IDs from old ledger rows (statuses and counts stay), and
    delete sign-ups never confirmed, with their IPs."""
    days = days if days is not None else _retention_days(app)
    if unconfirmed_days is None:
        unconfirmed_days = app.settings.unconfirmed_retention_days
    with app.transaction() as session:
        done = purge_ledger(session, days)
        gone = purge_unconfirmed(session, unconfirmed_days)
    click.echo(
        f"purged rows older than {done.cutoff:%Y-%m-%d %H:%M} UTC: "
        f"{done.deliveries} deliveries, {done.bounce_events} bounce events"
    )
    click.echo(
        f"deleted sign-ups unconfirmed since {gone.cutoff:%Y-%m-%d %H:%M} UTC: "
        f"{gone.subscriptions} pending subscriptions, {gone.requests} requests, "
        f"{gone.events} consent events"
    )


def _retention_days(app: AppContext) -> int:
    return app.settings.ledger_retention_days  # LEDGER_RETENTION_DAYS
