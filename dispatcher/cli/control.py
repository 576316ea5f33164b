"""``dispatcher send ...``: start a send, and control one that exists; ``dispatcher preflight``.

``send`` is a group whose default command is ``start``, so the familiar
``dispatcher send EDITION_ID --list cronache --now`` still works, beside
``dispatcher send pause SEND_ID``, ``resume``, ``cancel``, ``retry``, ``late`` and
``correction``. Each command opens a transaction, calls a service of
:mod:`dispatcher.sends.control` (late sends and corrections: of
:mod:`dispatcher.office.send_actions`, which checks the calendar and the approval, as
the desk does), and enqueues batches only after it commits.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from typing import Any

import click

from dispatcher.cli import sending
from dispatcher.cli.context import AppContext, pass_app
from dispatcher.office import send_actions
from dispatcher.office.users import audit
from dispatcher.preflight import run_preflight
from dispatcher.sends import control, reconcile
from subscribers.orm import utcnow

DEFAULT_COMMAND = "start"


class SendGroup(click.Group):
    """A group that runs ``start`` when the first argument names no command."""

    def parse_args(self, ctx: click.Context, args: list[str]) -> list[str]:
        if args and args[0] not in self.commands and args[0] not in ctx.help_option_names:
            args = [DEFAULT_COMMAND, *args]
        return super().parse_args(ctx, args)


@click.group("send", cls=SendGroup)
def send_group() -> None:
    """Start a send, or control one: pause, resume, cancel, retry, late, correction.

    "dispatcher send EDITION_ID --list SLUG --now" is short for
    "dispatcher send start EDITION_ID --list SLUG --now".
    """


# The command `dispatcher send` always had becomes the group's default one: same options,
# same help.
send_group.add_command(sending.send, DEFAULT_COMMAND)


def _on_send(name: str, *, reason: bool = False) -> Callable[[Callable[..., None]], click.Command]:
    """A ``send`` subcommand acting on one SEND_ID (with ``--reason`` if asked)."""

    def decorate(function: Callable[..., None]) -> click.Command:
        command: Callable[..., Any] = pass_app(function)
        if reason:
            why = "Why (shown on the console and in status)."
            command = click.option("--reason", default="", help=why)(command)
        return send_group.command(name)(click.argument("send_id", type=int)(command))

    return decorate


@_on_send("pause", reason=True)
def pause(app: AppContext, send_id: int, reason: str) -> None:
    """Pause running send SEND_ID: workers stop within about 100 messages or 2 s."""
    with app.transaction() as session:
        control.pause_send(session, send_id, reason or "paused from the command line", utcnow())
        audit(session, "cli", "send.pause", "send", send_id, reason=reason)
    click.echo(f"send {send_id} paused; 'dispatcher send resume {send_id}' goes on")


@_on_send("resume")
def resume(app: AppContext, send_id: int) -> None:
    """Resume paused send SEND_ID."""
    with app.transaction() as session:
        control.resume_send(session, send_id, utcnow())
        audit(session, "cli", "send.resume", "send", send_id)
    click.echo(f"send {send_id} resumed; {_dispatch(app, send_id)} batches enqueued")


@_on_send("cancel", reason=True)
def cancel(app: AppContext, send_id: int, reason: str) -> None:
    """Cancel send SEND_ID: what is not sent yet is skipped; messages in flight finish."""
    with app.transaction() as session:
        done = control.cancel_send(session, send_id, reason or "cancelled", utcnow())
        audit(session, "cli", "send.cancel", "send", send_id, reason=reason, skipped=done.rows)
    click.echo(f"send {send_id} cancelled: {done.rows} messages will not be sent")


@_on_send("retry")
def retry(app: AppContext, send_id: int) -> None:
    """Retry now the messages of SEND_ID that failed temporarily (4xx).

    Deferred messages are tried at once; those whose retries expired get one
    more attempt. Messages in doubt (maybe delivered) are sent again only when
    UNCERTAIN_POLICY is resend.
    """
    in_doubt = app.settings.sending.uncertain_policy == "resend"
    with app.transaction() as session:
        done = control.retry_send(session, send_id, utcnow(), in_doubt=in_doubt)
        audit(session, "cli", "send.retry", "send", send_id, rows=done.rows)
    enqueued = _dispatch(app, send_id) if done.state == "running" else 0
    click.echo(f"send {send_id}: {done.rows} messages to retry, {enqueued} batches enqueued")


@send_group.command("late")
@click.argument("send_id", type=int)
@click.option("--wait", is_flag=True, help="Stay and show progress until it finishes.")
@pass_app
def late(app: AppContext, send_id: int, wait: bool) -> None:
    """Send SEND_ID's edition to those who subscribed after it, starting now."""
    with app.transaction() as session:  # it starts now: the calendar and the approval apply
        new = send_actions.late_send(session, app.settings, send_id, utcnow(), "cli")
    click.echo(f"send {new.id}: edition of send {send_id} to those who subscribed since")
    _start(app, new.id, wait)


@send_group.command("correction")
@click.argument("send_id", type=int)
@click.option("--edition", "edition_id", type=int, required=True, help="The correcting edition.")
@click.option("--wait", is_flag=True, help="Stay and show progress until it finishes.")
@pass_app
def correction(app: AppContext, send_id: int, edition_id: int, wait: bool) -> None:
    """Send edition --edition to everyone who received SEND_ID's edition, starting now.

    The correcting edition must be approved in its current version.

    It reaches the recipients of every send of that edition (late sends, sends
    again, to other lists); if SEND_ID is still going, its messages not sent yet
    are replaced by the correction.
    """
    with app.transaction() as session:  # it starts now: the calendar and the approval apply
        new = send_actions.correction_send(
            session, app.settings, send_id, edition_id, utcnow(), "cli"
        )
    click.echo(
        f"send {new.id}: edition {edition_id} to everyone who received the edition "
        f"of send {send_id}"
    )
    _start(app, new.id, wait)


@click.command("preflight")
@click.argument("edition_id", type=int)
@click.option("--online", is_flag=True, help="Also check that every link answers (needs network).")
@click.option("--no-spamassassin", is_flag=True, help="Do not run SpamAssassin.")
@pass_app
def preflight(app: AppContext, edition_id: int, online: bool, no_spamassassin: bool) -> None:
    """Check edition EDITION_ID before sending: size, images, links, text, contrast, spam.

    Exits with status 1 when there are errors (warnings do not block).
    """
    with app.transaction() as session:
        report = run_preflight(
            session, edition_id, app.settings, spamassassin=not no_spamassassin, online=online
        )
    for label, findings in (("error", report.errors), ("warning", report.warnings)):
        for finding in findings:
            click.echo(f"{label}: [{finding.code}] {finding.where}: {finding.message}")
    click.echo(f"{len(report.errors)} errors, {len(report.warnings)} warnings")
    if report.errors:
        sys.exit(1)


def _dispatch(app: AppContext, send_id: int) -> int:
    """Take the send's first window of pending batches and enqueue them after the commit."""
    with app.transaction() as session:
        batch_ids = reconcile.take_pending(
            session, send_id, app.settings.sending.dispatch_window, utcnow()
        )
    app.enqueue(batch_ids)
    return len(batch_ids)


def _start(app: AppContext, send_id: int, wait: bool) -> None:
    sending.start_now(app, send_id)
    if wait:
        sending.wait_for(app, send_id)
