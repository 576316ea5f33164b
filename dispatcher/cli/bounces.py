"""``dispatcher bounces serve``, ``process`` and ``mail``: the receiver, the offline reader,
and the listing of what was kept for a person (postmaster, abuse, quarantine)."""

from __future__ import annotations

import signal
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from types import FrameType

import click

from dispatcher.bounces.apply import Policy, bounce_domains
from dispatcher.bounces.intake import BounceProcessor
from dispatcher.bounces.mailfolder import MailFolder, Quota
from dispatcher.bounces.outcome import Summary
from dispatcher.bounces.sources import read_sources
from dispatcher.cli.context import AppContext, pass_app
from dispatcher.cli.output import harmless
from dispatcher.config import Settings
from dispatcher.errors import ConfigurationError
from subscribers.tokens import Signer

#: The folders under BOUNCE_MAIL_DIR, each a folder of .eml files with a quota.
FOLDERS = ("postmaster", "abuse", "quarantine")

_domain_option = click.option(
    "--domain",
    "domains",
    multiple=True,
    help="Bounce domain (repeatable). Default: BOUNCE_DOMAIN, else every newsletter's From domain.",
)
_threshold_option = click.option(
    "--soft-threshold",
    default=None,
    type=click.IntRange(min=1),
    help="Soft bounces (one per delivery) after which a subscription is marked bounced "
    "(default: SOFT_BOUNCE_THRESHOLD, 3).",
)


@click.group("bounces")
def bounces() -> None:
    """Bounces, spam complaints and mailto unsubscribes that come back."""


@bounces.command("serve")
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on.")
@click.option("--port", default=2526, show_default=True, type=int, help="Port to listen on.")
@click.option("--lmtp", is_flag=True, help="Speak LMTP (one reply per recipient) instead of SMTP.")
@_domain_option
@click.option(
    "--also",
    "local_parts",
    multiple=True,
    help="Also accept this local part at the bounce domains, e.g. a feedback-loop address.",
)
@_threshold_option
@click.option(
    "--quarantine",
    type=click.Path(file_okay=False, path_type=Path),
    help="Keep unreadable messages in this folder (default: BOUNCE_MAIL_DIR/quarantine).",
)
@pass_app
def serve(
    app: AppContext,
    host: str,
    port: int,
    lmtp: bool,
    domains: tuple[str, ...],
    local_parts: tuple[str, ...],
    soft_threshold: int | None,
    quarantine: Path | None,
) -> None:
    """Receive the relay's bounces over SMTP (or LMTP) until SIGTERM or Ctrl-C."""
    from dispatcher.bounces.server import PEOPLE, BounceHandler, BounceServer  # aiosmtpd here

    app.settings.check_service_secrets()  # the VERP tokens it checks are signed with the key
    folders = _folders(app.settings)
    kept = _folder(app.settings, quarantine) if quarantine else folders["quarantine"]
    processor = _processor(app, domains, soft_threshold, quarantine=kept)
    people = {name: folders[name] for name in PEOPLE}
    handler = BounceHandler(processor, lmtp=lmtp, local_parts=local_parts, people=people)
    server = BounceServer(handler, host, port)
    stop = threading.Event()
    with _stop_on_signals(stop):
        try:
            server.start()
        except OSError as exc:
            raise click.ClickException(f"cannot listen on {host}:{port}: {exc}") from exc
        protocol = "LMTP" if lmtp else "SMTP"
        names = ", ".join(sorted(processor.domains or ()))
        click.echo(f"receiving bounces ({protocol}) on {host}:{port} for {names}", err=True)
        click.echo(f"postmaster, abuse and unreadable mail kept in {kept.path.parent}", err=True)
        while not stop.wait(0.5):
            pass
        server.stop()
    _print_summary(processor.summary)


@bounces.command("process")
@click.argument("paths", nargs=-1, required=True, type=click.Path(exists=True, path_type=Path))
@_domain_option
@_threshold_option
@click.option("--dry-run", is_flag=True, help="Say what would be done; change nothing.")
@click.option("--list", "show", is_flag=True, help="Print one line per message.")
@pass_app
def process(
    app: AppContext,
    paths: tuple[Path, ...],
    domains: tuple[str, ...],
    soft_threshold: int | None,
    dry_run: bool,
    show: bool,
) -> None:
    """Read bounces from mbox files, .eml files or Maildir folders and record them."""
    processor = _processor(app, domains, soft_threshold, dry_run=dry_run)
    for origin, raw in read_sources(paths):
        result = processor.process(raw, None, origin)
        if show:
            click.echo(f"{harmless(origin)}: {result.outcome} - {harmless(result.detail)}")
    if dry_run:
        click.echo("dry run: nothing was recorded")
    _print_summary(processor.summary)


@bounces.command("mail")
@click.argument("folder", type=click.Choice(FOLDERS), required=False)
@pass_app
def mail(app: AppContext, folder: str | None) -> None:
    """List the mail kept for a person: to postmaster@ and abuse@, and the unreadable."""
    folders = _folders(app.settings)
    for name in [folder] if folder else FOLDERS:
        kept = folders[name].messages()
        click.echo(f"{name}: {len(kept)} message(s) in {folders[name].path}")
        for item in kept:
            sender, subject = harmless(item.sender), harmless(item.subject)
            click.echo(f"  {item.path.name}  {item.size:>8}  {sender}  {subject}")


def _folders(settings: Settings) -> dict[str, MailFolder]:
    return {name: _folder(settings, Path(settings.bounce_mail_dir) / name) for name in FOLDERS}


def _folder(settings: Settings, path: Path) -> MailFolder:
    quota = Quota(settings.bounce_folder_max_messages, settings.bounce_folder_max_mb)
    return MailFolder(path, quota)


def _processor(
    app: AppContext,
    domains: tuple[str, ...],
    soft_threshold: int | None,
    *,
    quarantine: MailFolder | None = None,
    dry_run: bool = False,
) -> BounceProcessor:
    settings = app.settings
    names = frozenset(d.lower() for d in domains)
    if not names:
        with app.transaction() as session:
            names = bounce_domains(session, settings.bounce_domain)
    if not names:
        raise ConfigurationError("no bounce domain: set BOUNCE_DOMAIN or pass --domain")
    return BounceProcessor(
        app.sessions,
        Signer(settings.all_secret_keys),
        Policy(settings.all_secret_keys, soft_threshold or settings.soft_bounce_threshold),
        names,
        quarantine=quarantine,
        dry_run=dry_run,
    )


@contextmanager
def _stop_on_signals(stop: threading.Event) -> Iterator[None]:
    """Set ``stop`` on SIGTERM and SIGINT while inside; the old handlers come back after."""

    def handler(signum: int, frame: FrameType | None) -> None:
        stop.set()

    previous = {sig: signal.signal(sig, handler) for sig in (signal.SIGTERM, signal.SIGINT)}
    try:
        yield
    finally:
        for sig, old in previous.items():
            signal.signal(sig, old)


def _print_summary(summary: Summary) -> None:
    for line in summary.lines():
        click.echo(harmless(line))
