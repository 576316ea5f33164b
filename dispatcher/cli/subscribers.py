"""``dispatcher subscribers``: the office's spreadsheets in and out, and people's data rights."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from dispatcher.cli.context import AppContext, pass_app
from dispatcher.cli.output import harmless, harmless_json
from dispatcher.office.people import leave_list_by_address
from dispatcher.office.privacy import erase_person, export_person
from subscribers.csvfile import CsvStream, open_csv
from subscribers.export import DELIMITERS, export_csv
from subscribers.importer import ImportReport, ProgressHook, import_records
from subscribers.orm import SubscriptionStatus

PROGRESS_FROM = 5000  # lines; smaller imports finish before a bar would help
CLI_USER = "cli"  # who the audit log names for a change made here


@click.group("subscribers")
def group() -> None:
    """Import, export and erase subscribers."""


@group.command("import")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--list", "list_slug", required=True, help="Slug of the list to subscribe them to.")
@click.option(
    "--confirmed",
    is_flag=True,
    help="The office vouches that they consented: subscribe them confirmed, not pending.",
)
@pass_app
def import_command(app: AppContext, file: Path, list_slug: str, confirmed: bool) -> None:
    """Import FILE (CSV: email, name, language columns, in Italian or English) into a list.

    Exits 0 when at least one line was imported or updated, 1 when none was. A file
    that is not valid CSV all through (a stray quote, say) is refused whole.
    """
    source = open_csv(file)  # read as it is stored: a large file is never all in memory
    if source.lines < PROGRESS_FROM:
        report = _import(app, source, list_slug, confirmed, None)
    else:
        length = source.lines - 1  # a record per line but the header's, nearly always
        with click.progressbar(length=length, label="subscribing", file=sys.stderr) as bar:
            report = _import(app, source, list_slug, confirmed, bar.update)
    _print_report(report)
    if report.valid_rows == 0:
        click.echo(f"error: {file}: no valid row: nothing imported", err=True)
        sys.exit(1)


def _import(
    app: AppContext,
    source: CsvStream,
    list_slug: str,
    confirmed: bool,
    progress: ProgressHook | None,
) -> ImportReport:
    keys = app.settings.all_secret_keys
    with app.transaction() as session:
        return import_records(
            session, source, list_slug, keys=keys, confirmed=confirmed, progress=progress
        )


def _print_report(report: ImportReport) -> None:
    columns = ", ".join(f"{field} <- {header!r}" for field, header in report.columns.items())
    delimiter = "tab" if report.delimiter == "\t" else repr(report.delimiter)
    click.echo(f"{report.path}: encoding {report.encoding}, delimiter {delimiter}; {columns}")
    if report.ignored_columns:
        click.echo(f"columns not imported: {', '.join(report.ignored_columns)}")
    for note in report.skipped:
        click.echo(
            f"{report.path}:{note.line}: skipped: {note.reason}: {harmless(note.detail)}", err=True
        )
    for note in report.notes:
        click.echo(
            f"{report.path}:{note.line}: note: {note.reason}: {harmless(note.detail)}", err=True
        )
    click.echo(
        f"imported {len(report.imported)}, updated {len(report.updated)}, "
        f"skipped {len(report.skipped)}"
    )


@group.command("export")
@click.option("--list", "list_slug", required=True, help="Slug of the list to export.")
@click.option(
    "--status",
    type=click.Choice([s.value for s in SubscriptionStatus]),
    help="Only subscriptions in this state (default: all).",
)
@click.option("--out", type=click.Path(dir_okay=False, path_type=Path), help="Default: stdout.")
@click.option(
    "--delimiter",
    type=click.Choice(list(DELIMITERS)),
    default="semicolon",
    show_default=True,
    help="Italian Excel reads semicolons.",
)
@pass_app
def export_command(
    app: AppContext, list_slug: str, status: str | None, out: Path | None, delimiter: str
) -> None:
    """Export a list as CSV (UTF-8 with BOM: Excel opens it right) that imports back."""
    separator = DELIMITERS[delimiter]
    wanted = SubscriptionStatus(status) if status else None
    with app.transaction() as session:
        if out is None:
            count = export_csv(session, list_slug, sys.stdout, status=wanted, delimiter=separator)
        else:
            with out.open("w", encoding="utf-8", newline="") as handle:
                count = export_csv(session, list_slug, handle, status=wanted, delimiter=separator)
    click.echo(f"exported {count} people" + (f" to {out}" if out else ""), err=True)


@group.command("export-person")
@click.argument("email")
@pass_app
def export_person_command(app: AppContext, email: str) -> None:
    """Print as JSON everything held about the person with address EMAIL (GDPR art. 15)."""
    record = app.about_address(export_person, email)
    click.echo(harmless_json(record))


@group.command("unsubscribe")
@click.argument("email")
@click.option("--list", "list_slug", required=True, help="Slug of the list to leave.")
@pass_app
def unsubscribe_command(app: AppContext, email: str, list_slug: str) -> None:
    """Take the person with address EMAIL off one list; their other lists stay.

    For someone who asks the office by phone or letter; the consent history and the
    audit log record it as done by the office.
    """
    with app.transaction() as session:
        changed = leave_list_by_address(session, email, list_slug, CLI_USER)
    click.echo(f"unsubscribed from {list_slug}" if changed else f"was not on {list_slug}")


@group.command("erase")
@click.argument("email")
@click.option("--yes", is_flag=True, help="Do not ask for confirmation.")
@pass_app
def erase_command(app: AppContext, email: str, yes: bool) -> None:
    """Forget the person with address EMAIL (GDPR art. 17); the ledger's counts are kept.

    Their address stays only as an HMAC on the suppression list, so no import
    brings them back; a new sign-up of their own through the web form can.
    """
    if not yes:
        click.confirm(f"Erase everything about {email}? This cannot be undone", abort=True)
    done = app.about_address(erase_person, email)
    if done.subscriber_id is None:
        click.echo("already erased: the address is on the suppression list as erased")
        return
    click.echo(
        f"erased subscriber {done.subscriber_id}: {done.subscriptions} subscriptions closed, "
        f"{done.deliveries} deliveries and {done.bounce_events} bounce events scrubbed"
    )
