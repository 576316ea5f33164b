"""``dispatcher bounces serve`` and ``bounces process``: the receiver and the offline reader."""

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
from dispatcher.bounces.outcome import Summary
from dispatcher.bounces.sources import read_sources
from dispatcher.cli.context import AppContext, pass_app
from dispatcher.errors import ConfigurationError
from subscribers.tokens import Signer

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
    help="Keep messages that cannot be parsed in this folder.",
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
    from dispatcher.bounces.server import BounceHandler, BounceServer  # aiosmtpd only here

    processor = _processor(app, domains, soft_threshold, quarantine=quarantine)
    server = BounceServer(BounceHandler(processor, lmtp=lmtp, local_parts=local_parts), host, port)
    stop = threading.Event()
    with _stop_on_signals(stop):
        try:
            server.start()
        except OSError as exc:
            raise click.ClickException(f"cannot listen on {host}:{port}: {exc}") from exc
        protocol = "LMTP" if lmtp else "SMTP"
        names = ", ".join(sorted(processor.domains or ()))
        click.echo(f"receiving bounces ({protocol}) on {host}:{port} for {names}", err=True)
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
            click.echo(f"{origin}: {result.outcome} - {result.detail}")
    if dry_run:
        click.echo("dry run: nothing was recorded")
    _print_summary(processor.summary)


def _processor(
    app: AppContext,
    domains: tuple[str, ...],
    soft_threshold: int | None,
    *,
    quarantine: Path | None = None,
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
        click.echo(line)


def register(cli: click.Group) -> None:
    cli.add_command(bounces)
